/* periph_alert.c: an MCP9808's alert output wired to PB11 by the board file
 * (periph_io_test.go), as in the Native-FreeRTOS sample: the application
 * sets T_UPPER to 25 °C and enables the alert (comparator, active low); when
 * the board's temperature timeline passes 25 °C the part pulls PB11 low,
 * EXTI11 fires, and the handler reads Alert Stat. One line per step. */
#include <stdio.h>
#include <time.h>

#include "stm32u5xx_hal.h"

static I2C_HandleTypeDef hi2c;
static volatile int falling;

void EXTI11_IRQHandler(void) {
  HAL_GPIO_EXTI_IRQHandler(GPIO_PIN_11);
}

void HAL_GPIO_EXTI_Falling_Callback(uint16_t pin) {
  if (pin == GPIO_PIN_11) {
    falling++;
  }
}

static HAL_StatusTypeDef reg_write(uint8_t reg, uint8_t hi, uint8_t lo) {
  uint8_t v[2] = {hi, lo};
  return HAL_I2C_Mem_Write(&hi2c, 0x18 << 1, reg, I2C_MEMADD_SIZE_8BIT, v, 2, 100);
}

int main(void) {
  HAL_Init();
  __HAL_RCC_GPIOB_CLK_ENABLE()
  GPIO_InitTypeDef pin = {0};
  pin.Pin = GPIO_PIN_11;
  pin.Mode = GPIO_MODE_IT_FALLING;
  pin.Pull = GPIO_PULLUP;
  HAL_GPIO_Init(GPIOB, &pin);
  HAL_NVIC_SetPriority(EXTI11_IRQn, 5, 0);
  HAL_NVIC_EnableIRQ(EXTI11_IRQn);
  printf("alert line %d\n", (int)HAL_GPIO_ReadPin(GPIOB, GPIO_PIN_11));

  hi2c.Instance = I2C1;
  hi2c.Init.Timing = 0x00C01F67;
  hi2c.Init.AddressingMode = I2C_ADDRESSINGMODE_7BIT;
  printf("init %d\n", (int)HAL_I2C_Init(&hi2c));
  printf("limits %d %d %d\n", (int)reg_write(0x02, 0x01, 0x90), /* T_UPPER 25 °C */
         (int)reg_write(0x03, 0x00, 0x00), (int)reg_write(0x04, 0x05, 0x00));
  printf("config %d\n", (int)reg_write(0x01, 0x00, 0x08)); /* Alert Cnt */

  struct timespec nap = {0, 1000000};
  while (falling == 0) {
    nanosleep(&nap, NULL);
  }
  uint8_t c[2];
  HAL_StatusTypeDef st = HAL_I2C_Mem_Read(&hi2c, 0x18 << 1, 0x01, I2C_MEMADD_SIZE_8BIT, c, 2, 100);
  printf("falling %d line %d stat %d %d\n", falling, (int)HAL_GPIO_ReadPin(GPIOB, GPIO_PIN_11), (int)st,
         (c[1] >> 4) & 1);
  return 0;
}
