/* periph_gpio.c: the board file drives input pins and follows output pins
 * (periph_gpio_test.go). PC13 is a button the board presses (falling edge)
 * and releases (rising edge) on its timeline: EXTI13_IRQHandler runs for
 * each edge and the callback reads the level. PB2 is held low by the board
 * against its pull-up. PA5 has an LED model. Prints one line per step. */
#include <stdio.h>
#include <time.h>

#include "stm32u5xx_hal.h"

static volatile int falling, rising, fall_level = -1, rise_level = -1;

void EXTI13_IRQHandler(void) {
  HAL_GPIO_EXTI_IRQHandler(GPIO_PIN_13);
}

void HAL_GPIO_EXTI_Falling_Callback(uint16_t pin) {
  if (pin == GPIO_PIN_13) {
    fall_level = HAL_GPIO_ReadPin(GPIOC, GPIO_PIN_13);
    falling++;
  }
}

void HAL_GPIO_EXTI_Rising_Callback(uint16_t pin) {
  if (pin == GPIO_PIN_13) {
    rise_level = HAL_GPIO_ReadPin(GPIOC, GPIO_PIN_13);
    rising++;
  }
}

int main(void) {
  HAL_Init();
  __HAL_RCC_GPIOC_CLK_ENABLE()
  __HAL_RCC_GPIOB_CLK_ENABLE()
  __HAL_RCC_GPIOA_CLK_ENABLE()
  GPIO_InitTypeDef pin = {0};
  pin.Pin = GPIO_PIN_13;
  pin.Mode = GPIO_MODE_IT_RISING_FALLING;
  pin.Pull = GPIO_PULLDOWN; /* the board's level beats the pull */
  HAL_GPIO_Init(GPIOC, &pin);
  HAL_NVIC_SetPriority(EXTI13_IRQn, 5, 0);
  HAL_NVIC_EnableIRQ(EXTI13_IRQn);
  uint32_t ready = HAL_GetTick();
  printf("button %d\n", (int)HAL_GPIO_ReadPin(GPIOC, GPIO_PIN_13));

  pin.Pin = GPIO_PIN_2;
  pin.Mode = GPIO_MODE_INPUT;
  pin.Pull = GPIO_PULLUP;
  HAL_GPIO_Init(GPIOB, &pin);
  printf("held %d\n", (int)HAL_GPIO_ReadPin(GPIOB, GPIO_PIN_2));

  pin.Pin = GPIO_PIN_5;
  pin.Mode = GPIO_MODE_OUTPUT_PP;
  pin.Pull = GPIO_NOPULL;
  HAL_GPIO_Init(GPIOA, &pin);
  HAL_GPIO_WritePin(GPIOA, GPIO_PIN_5, GPIO_PIN_SET);
  HAL_GPIO_TogglePin(GPIOA, GPIO_PIN_5);

  /* Wait for the press and the release (the test's own deadline bounds it). */
  struct timespec nap = {0, 1000000};
  while (falling == 0 || rising == 0) {
    nanosleep(&nap, NULL);
  }
  printf("falling %d level %d\n", falling, fall_level);
  printf("rising %d level %d\n", rising, rise_level);
  /* The timeline's press came after the set-up, or the edge was lost. */
  printf("ready before the press %d\n", ready < 2000U);
  return 0;
}
