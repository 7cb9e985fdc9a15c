/*
 * The HAL's time base on TIM6 instead of SysTick (FreeRTOS owns SysTick):
 * HAL_InitTick starts TIM6 with a 1 ms update interrupt, whose callback
 * advances the HAL's tick. Written for mv-sensor-demo after the shape of
 * ST's stm32u5xx_hal_timebase_tim_template.c.
 */
#include "stm32u5xx_hal.h"

static TIM_HandleTypeDef htim6;

HAL_StatusTypeDef HAL_InitTick(uint32_t TickPriority) {
    uint32_t pclk1 = 0;
    __HAL_RCC_TIM6_CLK_ENABLE();
    if (mvGetPClk1(&pclk1) != MV_STATUS_OKAY || pclk1 == 0) {
        return HAL_ERROR;
    }
    htim6.Instance = TIM6;
    htim6.Init.Prescaler = (pclk1 / 1000000U) - 1U; /* 1 MHz counter */
    htim6.Init.Period = (1000000U / 1000U) - 1U;    /* 1 kHz updates */
    htim6.Init.ClockDivision = 0;
    htim6.Init.CounterMode = TIM_COUNTERMODE_UP;
    if (HAL_TIM_Base_Init(&htim6) != HAL_OK) {
        return HAL_ERROR;
    }
    HAL_NVIC_SetPriority(TIM6_IRQn, TickPriority, 0U);
    HAL_NVIC_EnableIRQ(TIM6_IRQn);
    uwTickPrio = TickPriority;
    return HAL_TIM_Base_Start_IT(&htim6);
}

void HAL_SuspendTick(void) {
    __HAL_TIM_DISABLE_IT(&htim6, TIM_IT_UPDATE);
}

void HAL_ResumeTick(void) {
    __HAL_TIM_ENABLE_IT(&htim6, TIM_IT_UPDATE);
}

void TIM6_IRQHandler(void) {
    HAL_TIM_IRQHandler(&htim6);
}

void HAL_TIM_PeriodElapsedCallback(TIM_HandleTypeDef *htim) {
    if (htim->Instance == TIM6) {
        HAL_IncTick();
    }
}
