/*
 * hal_exti.c — a GPIO interrupt reaches the application's EXTIn_IRQHandler
 * through the library's interrupt controller, as the MCP9808 alert pin of
 * the Native-FreeRTOS sample does: PB11 in GPIO_MODE_IT_FALLING, EXTI11.
 * Exits 0 when every check passed.
 */
#include <stdio.h>
#include <time.h>

#include "stm32u5xx_hal.h"

static volatile int falling;
static volatile int outside_handler;

void EXTI11_IRQHandler(void) {
  HAL_GPIO_EXTI_IRQHandler(GPIO_PIN_11);
}

void HAL_GPIO_EXTI_Falling_Callback(uint16_t pin) {
  if (pin == GPIO_PIN_11) {
    if (__get_IPSR() == 0U) {
      outside_handler = 1;
    }
    falling++;
  }
}

int main(void) {
  HAL_Init();
  __HAL_RCC_GPIOB_CLK_ENABLE()
  GPIO_InitTypeDef pin = {0};
  pin.Pin = GPIO_PIN_11;
  pin.Mode = GPIO_MODE_IT_FALLING;
  pin.Pull = GPIO_PULLUP;
  HAL_GPIO_Init(GPIOB, &pin);
  HAL_NVIC_SetPriorityGrouping(NVIC_PRIORITYGROUP_4);
  HAL_NVIC_SetPriority(EXTI11_IRQn, 5, 0);
  HAL_NVIC_EnableIRQ(EXTI11_IRQn);

  /* The sensor pulls its alert line low. */
  mvnet_gpio_set_input(GPIOB, GPIO_PIN_11, GPIO_PIN_RESET);

  struct timespec start, now, nap = {0, 1000000};
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (falling == 0) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > 60) {
      printf("FAIL: no falling-edge callback\n");
      return 1;
    }
    nanosleep(&nap, NULL);
  }
  if (outside_handler || falling != 1) {
    printf("FAIL: callbacks %d, outside a handler %d\n", falling, outside_handler);
    return 1;
  }
  printf("PASS\n");
  return 0;
}
