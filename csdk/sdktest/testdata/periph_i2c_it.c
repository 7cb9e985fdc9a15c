/* periph_i2c_it.c: the I2C HAL's interrupt transfers (periph_hal_test.go):
 * they complete through I2C1_EV_IRQn, the application's handler and ST's
 * callbacks. Prints one line per step. */
#include <stdio.h>
#include <string.h>

#include "stm32u5xx_hal.h"

static I2C_HandleTypeDef hi2c;
static volatile int mem_rx_done, tx_done, errors;
static volatile uint32_t error_code;

void I2C1_EV_IRQHandler(void) { HAL_I2C_EV_IRQHandler(&hi2c); }
void I2C1_ER_IRQHandler(void) { HAL_I2C_ER_IRQHandler(&hi2c); }

void HAL_I2C_MemRxCpltCallback(I2C_HandleTypeDef *h) {
  (void)h;
  mem_rx_done++;
}

void HAL_I2C_MasterTxCpltCallback(I2C_HandleTypeDef *h) {
  (void)h;
  tx_done++;
}

void HAL_I2C_ErrorCallback(I2C_HandleTypeDef *h) {
  error_code = HAL_I2C_GetError(h);
  errors++;
}

/* Waits up to 10 s for *flag to reach n. */
static int wait_for(volatile int *flag, int n) {
  for (int i = 0; i < 10000 && *flag < n; i++) {
    HAL_Delay(1);
  }
  return *flag >= n;
}

int main(void) {
  hi2c.Instance = I2C1;
  hi2c.Init.Timing = 0x00C01F67;
  hi2c.Init.AddressingMode = I2C_ADDRESSINGMODE_7BIT;
  printf("init %d\n", HAL_I2C_Init(&hi2c));
  HAL_NVIC_SetPriority(I2C1_EV_IRQn, 5, 0);

  /* Interrupt held off: the transfer stays in flight and the handle busy. */
  uint8_t buf[2] = {0xEE, 0xEE};
  HAL_StatusTypeDef st = HAL_I2C_Mem_Read_IT(&hi2c, 0x18 << 1, 0x06, I2C_MEMADD_SIZE_8BIT, buf, 2);
  HAL_StatusTypeDef busy = HAL_I2C_Master_Transmit(&hi2c, 0x18 << 1, buf, 1, 100);
  printf("started %d busy %d state 0x%02x callbacks %d\n", st, busy, (unsigned)HAL_I2C_GetState(&hi2c), mem_rx_done);

  HAL_NVIC_EnableIRQ(I2C1_EV_IRQn);
  int ok = wait_for(&mem_rx_done, 1);
  printf("mem rx %d %02x%02x state 0x%02x\n", ok, buf[0], buf[1], (unsigned)HAL_I2C_GetState(&hi2c));

  uint8_t reg = 0x05;
  st = HAL_I2C_Master_Transmit_IT(&hi2c, 0x18 << 1, &reg, 1);
  ok = wait_for(&tx_done, 1);
  printf("tx %d %d\n", st, ok);

  /* Nobody at 0x40: the NACK arrives as the error callback. */
  st = HAL_I2C_Master_Transmit_IT(&hi2c, 0x40 << 1, &reg, 1);
  ok = wait_for(&errors, 1);
  printf("nack %d %d err 0x%02lx tx %d state 0x%02x\n", st, ok, (unsigned long)error_code, tx_done,
         (unsigned)HAL_I2C_GetState(&hi2c));
  return 0;
}
