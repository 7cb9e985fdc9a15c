/*
 * hal_timebase_tim.c — a HAL time base on TIM6, in the shape of the
 * stm32u5xx_hal_timebase_tim.c that Microvisor sample projects carry (our
 * own text): HAL_InitTick runs TIM6 at 1 kHz from the bus clock Microvisor
 * reports, its update interrupt calls HAL_IncTick through
 * HAL_TIM_PeriodElapsedCallback. Used by hal_timebase.c (TestHALTimeBase).
 */
#include "stm32u5xx_hal.h"

static TIM_HandleTypeDef tick_timer;

volatile uint32_t timebase_callbacks;   /* period callbacks for TIM6 */
volatile int timebase_initialised;      /* HAL_InitTick below ran */
volatile int timebase_outside_handler;  /* a callback ran outside an interrupt handler */

void TIM6_IRQHandler(void);

HAL_StatusTypeDef HAL_InitTick(uint32_t TickPriority) {
  RCC_ClkInitTypeDef clocks;
  uint32_t flash_latency;
  uint32_t timer_hz = 0;

  /* Written without a ';', as published projects do. */
  __HAL_RCC_TIM6_CLK_ENABLE()

  HAL_RCC_GetClockConfig(&clocks, &flash_latency);
  if (mvGetPClk1(&timer_hz) != MV_STATUS_OKAY || timer_hz < 1000000U) {
    return HAL_ERROR;
  }
  if (clocks.APB1CLKDivider != RCC_HCLK_DIV1) {
    timer_hz *= 2U; /* timers on a divided APB run at twice its clock */
  }

  /* 1 MHz counter clock, 1000 counts a period: 1 ms. */
  tick_timer.Instance = TIM6;
  tick_timer.Init.Prescaler = timer_hz / 1000000U - 1U;
  tick_timer.Init.Period = 1000U - 1U;
  tick_timer.Init.ClockDivision = 0;
  tick_timer.Init.CounterMode = TIM_COUNTERMODE_UP;
  if (HAL_TIM_Base_Init(&tick_timer) != HAL_OK) {
    return HAL_ERROR;
  }
  if (HAL_TIM_Base_Start_IT(&tick_timer) != HAL_OK) {
    return HAL_ERROR;
  }
  if (TickPriority >= (1UL << __NVIC_PRIO_BITS)) {
    return HAL_ERROR;
  }
  HAL_NVIC_SetPriority(TIM6_IRQn, TickPriority, 0);
  uwTickPrio = TickPriority;
  HAL_NVIC_EnableIRQ(TIM6_IRQn);
  timebase_initialised = 1;
  return HAL_OK;
}

void HAL_SuspendTick(void) {
  __HAL_TIM_DISABLE_IT(&tick_timer, TIM_IT_UPDATE);
}

void HAL_ResumeTick(void) {
  __HAL_TIM_ENABLE_IT(&tick_timer, TIM_IT_UPDATE);
}

void HAL_TIM_PeriodElapsedCallback(TIM_HandleTypeDef *htim) {
  if (htim->Instance != TIM6) {
    return;
  }
  if (__get_IPSR() == 0U) {
    timebase_outside_handler = 1;
  }
  timebase_callbacks++;
  HAL_IncTick();
}

void TIM6_IRQHandler(void) {
  HAL_TIM_IRQHandler(&tick_timer);
}
