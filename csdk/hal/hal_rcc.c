//go:build ignore

/*
 * hal_rcc.c — the core clock variable and the RCC frequency getters.
 *
 * Every bus reports MVNET_HAL_CLOCK_HZ (160 MHz), every prescaler is 1.
 * Nothing is configured: the clock-enable macros in stm32u5xx_hal_rcc.h
 * are no-ops.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>

#include "stm32u5xx_hal.h"
#include "hal_internal.h"

/*
 * SystemCoreClock, SystemCoreClockUpdate, SystemInit and ST's tables are
 * weak: an application that keeps its system file (system_stm32u5xx_ns.c)
 * defines them too, and its definitions win in a static link. Linked against
 * libmvnet.so, the application's SystemCoreClock is found by name (below),
 * so the HAL and the application use one variable.
 */
__attribute__((weak)) uint32_t SystemCoreClock = MVNET_HAL_CLOCK_HZ;

__attribute__((weak)) const uint8_t AHBPrescTable[16] = {0U, 0U, 0U, 0U, 0U, 0U, 0U, 0U, 1U, 2U, 3U, 4U, 6U, 7U, 8U, 9U};
__attribute__((weak)) const uint8_t APBPrescTable[8] = {0U, 0U, 0U, 0U, 1U, 2U, 3U, 4U};
__attribute__((weak)) const uint32_t MSIRangeTable[16] = {
    48000000U, 24000000U, 16000000U, 12000000U, 4000000U, 2000000U, 1500000U, 1000000U,
    3072000U, 1536000U, 1024000U, 768000U, 400000U, 200000U, 150000U, 100000U};

__attribute__((weak)) void SystemInit(void) {
}

static pthread_once_t clock_once = PTHREAD_ONCE_INIT;
static uint32_t *clock_var;

static void find_clock(void) {
  clock_var = mvnet_hal_canonical("SystemCoreClock", &SystemCoreClock);
}

/* SystemCoreClock as the application sees it (hal_symbols.c). */
static uint32_t *core_clock(void) {
  pthread_once(&clock_once, find_clock);
  return clock_var;
}

/* Microvisor applications define this to ask Microvisor for HCLK
 * (mvGetHClk); ST's non-secure SystemCoreClockUpdate calls it. Weak here, so
 * an application that does not define it still links. */
extern uint32_t SECURE_SystemCoreClockUpdate(void) __attribute__((weak));

__attribute__((weak)) void SystemCoreClockUpdate(void) {
  uint32_t hz = 0;
  if (SECURE_SystemCoreClockUpdate != NULL) {
    hz = SECURE_SystemCoreClockUpdate();
  }
  *core_clock() = hz != 0 ? hz : MVNET_HAL_CLOCK_HZ;
}

uint32_t HAL_RCC_GetSysClockFreq(void) {
  return MVNET_HAL_CLOCK_HZ;
}

uint32_t HAL_RCC_GetHCLKFreq(void) {
  return *core_clock();
}

uint32_t HAL_RCC_GetPCLK1Freq(void) {
  return MVNET_HAL_CLOCK_HZ;
}

uint32_t HAL_RCC_GetPCLK2Freq(void) {
  return MVNET_HAL_CLOCK_HZ;
}

uint32_t HAL_RCC_GetPCLK3Freq(void) {
  return MVNET_HAL_CLOCK_HZ;
}

void HAL_RCC_GetClockConfig(RCC_ClkInitTypeDef *pRCC_ClkInitStruct, uint32_t *pFLatency) {
  if (pRCC_ClkInitStruct != NULL) {
    pRCC_ClkInitStruct->ClockType = RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_PCLK1 |
                                    RCC_CLOCKTYPE_PCLK2 | RCC_CLOCKTYPE_PCLK3;
    pRCC_ClkInitStruct->SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    pRCC_ClkInitStruct->AHBCLKDivider = RCC_SYSCLK_DIV1;
    pRCC_ClkInitStruct->APB1CLKDivider = RCC_HCLK_DIV1;
    pRCC_ClkInitStruct->APB2CLKDivider = RCC_HCLK_DIV1;
    pRCC_ClkInitStruct->APB3CLKDivider = RCC_HCLK_DIV1;
  }
  if (pFLatency != NULL) {
    *pFLatency = 4U; /* FLASH_LATENCY_4 */
  }
}

HAL_StatusTypeDef HAL_RCCEx_PeriphCLKConfig(RCC_PeriphCLKInitTypeDef *PeriphClkInit) {
  return PeriphClkInit != NULL ? HAL_OK : HAL_ERROR;
}
