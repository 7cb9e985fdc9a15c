/*
 * mvnet_periph.h — internal: how the HAL stand-in's I2C, SPI, GPIO and UART
 * calls reach the simulated board (Go package periph, through libmvnet).
 *
 * Not for applications. libmvnet defines the mvnet_periph_* functions
 * (csdk/lib/periph.go); the HAL refers to them weakly, so the HAL sources
 * linked without the library (their own tests) see an empty board: every
 * address NACKs, SPI reads 0xFF, no input is driven, no UART byte comes.
 */
#ifndef MVNET_HAL_PERIPH_H
#define MVNET_HAL_PERIPH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Outcomes of an I2C transaction (mvnet_periph_i2c_xfer.result). */
#define MVNET_I2C_ACK 0U       /* every address and byte acknowledged */
#define MVNET_I2C_ADDR_NACK 1U /* nobody acknowledged the address */
#define MVNET_I2C_DATA_NACK 2U /* the device refused a written byte */

/* One I2C transaction: START, an optional write segment (pre then tx, sent
 * even when empty if has_write), an optional read segment of rx_len bytes
 * (after a repeated START when there was a write), STOP. */
struct mvnet_periph_i2c_xfer {
  /* in */
  uint32_t bus;  /* 0…3: I2C1…I2C4 */
  uint32_t addr; /* 7-bit address */
  uint32_t has_write;
  uint8_t pre[2]; /* memory address bytes (Mem_*), sent before tx */
  uint32_t pre_len;
  const uint8_t *tx;
  uint32_t tx_len;
  uint32_t has_read;
  uint8_t *rx;
  uint32_t rx_len;
  /* out */
  uint32_t result;  /* MVNET_I2C_* */
  uint32_t written; /* bytes acknowledged */
  char device[32];  /* the model's name; "" when absent */
  char state[200];  /* the model's visible state (a display's RAM); "" if none */
};

/* Runs x on the simulated bus. Defined by libmvnet. */
void mvnet_periph_i2c(struct mvnet_periph_i2c_xfer *x);

/* One SPI transfer of len bytes on bus 0…2 (SPI1…SPI3): tx out, rx in
 * (both len bytes, in wire order). hard_nss: the peripheral drives its NSS
 * output for the transfer. With nothing selected rx is left as it is (the
 * HAL fills it with 0xFF, the idle level of MISO, beforehand). */
struct mvnet_periph_spi_xfer {
  uint32_t bus;
  uint32_t hard_nss;
  const uint8_t *tx;
  uint8_t *rx;
  uint32_t len;
  /* out */
  char device[32]; /* the selected model's name; "" when none */
  char cs[8];      /* its chip select: "NSS", "PA4" … */
};

void mvnet_periph_spi(struct mvnet_periph_spi_xfer *x);

/* A GPIO pin and its level (port 0…8 = GPIOA…GPIOI, pin 0…15, level 0/1),
 * and (out) the state of a pin model on it ("" when none has one). */
struct mvnet_periph_pin {
  uint32_t port;
  uint32_t pin;
  uint32_t level;
  char device[32];
  char state[32];
};

/* The one GPIO output hook: the application drove x's pin to x->level
 * (hal_gpio.c, every write and toggle). SPI chip selects and pin models
 * follow it; x->device/x->state report a pin model's state. */
void mvnet_periph_gpio(struct mvnet_periph_pin *x);

/* The next level the board drives onto an input pin, waiting at most
 * wait_ms (negative: no limit) on the board's clock: 1 with x->port/pin/
 * level filled, 0 when none came in time, -1 when the board drives no
 * more (hal_gpio.c's input thread). */
int mvnet_periph_gpio_input(struct mvnet_periph_pin *x, int32_t wait_ms);

/* Bytes the application transmitted on UART uart (0…5: USART1, USART2,
 * USART3, UART4, UART5, LPUART1): the model attached there hears them;
 * device gets its name, "" for none. */
struct mvnet_periph_uart_tx {
  uint32_t uart;
  const uint8_t *data;
  uint32_t len;
  char device[32]; /* out */
};

void mvnet_periph_uart_tx(struct mvnet_periph_uart_tx *x);

/* Moves up to n bytes the board sent on UART uart into buf, waiting at most
 * wait_ms (negative: no limit) for the first; returns how many. */
uint32_t mvnet_periph_uart_rx(uint32_t uart, uint8_t *buf, uint32_t n, int32_t wait_ms);

/* Starts fn(arg) on a detached thread that takes no signals (they belong to
 * the application's threads), for the HAL's board waiters (hal_gpio.c's
 * input thread, hal_uart.c's interrupt receptions). Defined in hal_gpio.c;
 * returns pthread_create's result. */
int mvnet_hal_board_thread(void *(*fn)(void *), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_HAL_PERIPH_H */
