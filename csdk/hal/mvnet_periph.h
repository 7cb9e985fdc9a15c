/*
 * mvnet_periph.h — internal: how the HAL stand-in's I2C and SPI calls reach
 * the simulated buses (Go package periph, through libmvnet).
 *
 * Not for applications. libmvnet defines mvnet_periph_i2c() and
 * mvnet_periph_spi() (csdk/lib/periph.c); the HAL refers to them weakly, so
 * the HAL sources linked without the library (their own tests) see empty
 * buses: every address NACKs and SPI reads 0xFF.
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

/* A GPIO output pin changed (port 0…8 = A…I, pin 0…15, level 0/1): the
 * chip selects of SPI devices follow it. */
void mvnet_periph_gpio(uint32_t port, uint32_t pin, uint32_t level);

/* Called by hal_gpio.c for every output level it drives (port 0…8 = GPIOA…
 * GPIOI): forwards it to mvnet_periph_gpio when the library is there.
 * Defined in hal_spi.c. */
void mvnet_hal_spi_pin(int port, int pin, int level);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_HAL_PERIPH_H */
