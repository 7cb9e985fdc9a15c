/*
 * hal_periph_trace.c — the SPI and I2C HALs against a bus stand-in defined
 * here (libmvnet's mvnet_periph_* are weak references in the HAL):
 *   spi_long: a 31-character model name that escapes to its longest (every
 *             byte a control byte) after a 100-byte transfer: the trace line
 *             stays JSON and keeps the whole name;
 *   i2c_long: the same with the longest model state beside it;
 *   spi_24:   24-bit frames are 3 bytes on the wire, 4 in memory.
 * Run with the case name and MVNET_TRACE_STDERR=1; prints "PASS <case>" and
 * exits 0, or what failed (hal_periph_trace_test.go checks the trace).
 */
#include <stdio.h>
#include <string.h>

#include "stm32u5xx_hal.h"
#include "mvnet_periph.h"

static uint32_t last_len;
static uint8_t last_wire[256];

/* Every name byte 0x01: escaped as \u0001, six characters each. */
static void long_name(char *dst, size_t size) {
  memset(dst, 0x01, size - 1U);
  dst[size - 1U] = '\0';
}

void mvnet_periph_spi(struct mvnet_periph_spi_xfer *x) {
  last_len = x->len;
  memcpy(last_wire, x->tx, x->len < sizeof last_wire ? x->len : sizeof last_wire);
  for (uint32_t i = 0; i < x->len; i++) {
    x->rx[i] = (uint8_t)(x->tx[i] ^ 0xFFU);
  }
  long_name(x->device, sizeof x->device);
  snprintf(x->cs, sizeof x->cs, "PA4");
}

void mvnet_periph_i2c(struct mvnet_periph_i2c_xfer *x) {
  x->result = MVNET_I2C_ACK;
  x->written = x->pre_len + x->tx_len;
  for (uint32_t i = 0; i < x->rx_len; i++) {
    x->rx[i] = (uint8_t)i;
  }
  long_name(x->device, sizeof x->device);
  long_name(x->state, sizeof x->state);
}

void mvnet_periph_gpio(struct mvnet_periph_pin *x) {
  (void)x;
}

static int spi(uint32_t data_size, SPI_HandleTypeDef *h) {
  memset(h, 0, sizeof *h);
  h->Instance = SPI1;
  h->Init.Mode = SPI_MODE_MASTER;
  h->Init.Direction = SPI_DIRECTION_2LINES;
  h->Init.DataSize = data_size;
  h->Init.NSS = SPI_NSS_SOFT;
  return HAL_SPI_Init(h) == HAL_OK;
}

static int case_spi_long(void) {
  SPI_HandleTypeDef h;
  uint8_t tx[100], rx[100];
  memset(tx, 0xA5, sizeof tx);
  return spi(SPI_DATASIZE_8BIT, &h) && HAL_SPI_TransmitReceive(&h, tx, rx, sizeof tx, 100) == HAL_OK;
}

static int case_i2c_long(void) {
  I2C_HandleTypeDef h;
  memset(&h, 0, sizeof h);
  h.Instance = I2C1;
  h.Init.AddressingMode = I2C_ADDRESSINGMODE_7BIT;
  uint8_t buf[100];
  memset(buf, 0x5A, sizeof buf);
  return HAL_I2C_Init(&h) == HAL_OK && HAL_I2C_Master_Transmit(&h, 0x18 << 1, buf, sizeof buf, 100) == HAL_OK &&
         HAL_I2C_Mem_Read(&h, 0x18 << 1, 0x10, I2C_MEMADD_SIZE_8BIT, buf, sizeof buf, 100) == HAL_OK;
}

static int case_spi_24(void) {
  SPI_HandleTypeDef h;
  uint32_t tx[2] = {0x00112233U, 0x00445566U}, rx[2] = {0, 0};
  /* 0x17: SPI_DATASIZE_24BIT in ST's header (DSIZE = bits - 1). */
  if (!spi(0x17U, &h) ||
      HAL_SPI_TransmitReceive(&h, (uint8_t *)tx, (uint8_t *)rx, 2, 100) != HAL_OK) {
    printf("FAIL: transfer\n");
    return 0;
  }
  static const uint8_t want[6] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
  int ok = 1;
  if (last_len != 6U || memcmp(last_wire, want, sizeof want) != 0) {
    printf("FAIL: %u wire bytes, want 6 (3 a frame): %02x %02x %02x %02x\n", (unsigned)last_len, last_wire[0],
           last_wire[1], last_wire[2], last_wire[3]);
    ok = 0;
  }
  if (rx[0] != 0x00EEDDCCU || rx[1] != 0x00BBAA99U) {
    printf("FAIL: received frames %#x %#x, want 0xeeddcc 0xbbaa99\n", (unsigned)rx[0], (unsigned)rx[1]);
    ok = 0;
  }
  return ok;
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "";
  int ok;
  if (strcmp(name, "spi_long") == 0) {
    ok = case_spi_long();
  } else if (strcmp(name, "i2c_long") == 0) {
    ok = case_i2c_long();
  } else if (strcmp(name, "spi_24") == 0) {
    ok = case_spi_24();
  } else {
    printf("FAIL: unknown case %s\n", name);
    return 2;
  }
  if (!ok) {
    printf("FAIL %s\n", name);
    return 1;
  }
  printf("PASS %s\n", name);
  return 0;
}
