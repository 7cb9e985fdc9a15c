/* periph_spi.c: the SPI HAL against the simulated buses (periph_hal_test.go):
 * an LIS3DH behind GPIO chip select PA4 on SPI1, another on SPI2's hardware
 * NSS. Prints one line per step. */
#include <stdio.h>
#include <string.h>

#include "stm32u5xx_hal.h"

static SPI_HandleTypeDef spi1, spi2;

static void init(SPI_HandleTypeDef *h, SPI_TypeDef *inst, uint32_t nss, uint32_t mode) {
  memset(h, 0, sizeof *h);
  h->Instance = inst;
  h->Init.Mode = mode;
  h->Init.Direction = SPI_DIRECTION_2LINES;
  h->Init.DataSize = SPI_DATASIZE_8BIT;
  h->Init.CLKPolarity = SPI_POLARITY_HIGH;
  h->Init.CLKPhase = SPI_PHASE_2EDGE;
  h->Init.NSS = nss;
  h->Init.BaudRatePrescaler = SPI_BAUDRATEPRESCALER_16;
  h->Init.FirstBit = SPI_FIRSTBIT_MSB;
  printf("init %d\n", HAL_SPI_Init(h));
}

static void cs(int level) {
  HAL_GPIO_WritePin(GPIOA, GPIO_PIN_4, level ? GPIO_PIN_SET : GPIO_PIN_RESET);
}

int main(void) {
  uint8_t tx[7] = {0x8F, 0}, rx[7];
  HAL_StatusTypeDef st;

  spi1.Instance = SPI1;
  st = HAL_SPI_TransmitReceive(&spi1, tx, rx, 2, 100);
  printf("uninit %d\n", st);

  __HAL_RCC_GPIOA_CLK_ENABLE();
  GPIO_InitTypeDef pin = {.Pin = GPIO_PIN_4, .Mode = GPIO_MODE_OUTPUT_PP, .Pull = GPIO_NOPULL};
  HAL_GPIO_Init(GPIOA, &pin);
  cs(1);
  init(&spi1, SPI1, SPI_NSS_SOFT, SPI_MODE_MASTER);

  /* Not selected: MISO idles high. */
  memset(rx, 0, sizeof rx);
  st = HAL_SPI_TransmitReceive(&spi1, tx, rx, 2, 100);
  printf("unselected %d %02x\n", st, rx[1]);

  cs(0);
  st = HAL_SPI_TransmitReceive(&spi1, tx, rx, 2, 100);
  cs(1);
  printf("whoami %d %02x\n", st, rx[1]);

  /* CTRL_REG1 = 100 Hz, all axes; then a read in two calls under one
   * chip select: the command, then the six output bytes. */
  uint8_t ctrl[2] = {0x20, 0x57};
  cs(0);
  st = HAL_SPI_Transmit(&spi1, ctrl, 2, 100);
  cs(1);
  HAL_Delay(20);
  uint8_t cmd = 0xC0 | 0x28;
  cs(0);
  HAL_StatusTypeDef st1 = HAL_SPI_Transmit(&spi1, &cmd, 1, 100);
  HAL_StatusTypeDef st2 = HAL_SPI_Receive(&spi1, rx, 6, 100);
  cs(1);
  int16_t z = (int16_t)(rx[5] << 8 | rx[4]);
  printf("accel %d %d %d z=%d\n", st, st1, st2, z >> 6);

  /* SPI2: the device sits on the hardware NSS line. */
  init(&spi2, SPI2, SPI_NSS_HARD_OUTPUT, SPI_MODE_MASTER);
  memset(rx, 0, sizeof rx);
  st = HAL_SPI_TransmitReceive(&spi2, tx, rx, 2, 100);
  printf("nss whoami %d %02x state %d\n", st, rx[1], (int)HAL_SPI_GetState(&spi2));

  /* Target mode has no controller to wait for. */
  st = HAL_SPI_DeInit(&spi2);
  init(&spi2, SPI2, SPI_NSS_HARD_INPUT, SPI_MODE_SLAVE);
  st = HAL_SPI_Receive(&spi2, rx, 1, 10);
  printf("target %d err 0x%03lx\n", st, (unsigned long)HAL_SPI_GetError(&spi2));
  return 0;
}
