//go:build ignore

/*
 * hal_time.c — HAL_Init, the millisecond tick and HAL_Delay on the host.
 *
 * The tick is derived from CLOCK_MONOTONIC relative to process start instead
 * of being counted by a SysTick interrupt, so it is exact, monotonic and
 * independent of HAL_InitTick/HAL_IncTick (which are kept for API fidelity).
 * HAL_GetTick wraps at 2^32 ms (~49.7 days), like the device's uwTick.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "stm32u5xx_hal.h"
#include "hal_internal.h"

__IO uint32_t uwTick;
uint32_t uwTickPrio = (1UL << 4) /* invalid until HAL_InitTick, as in ST's HAL */;
HAL_TickFreqTypeDef uwTickFreq = HAL_TICK_FREQ_DEFAULT;

static pthread_once_t base_once = PTHREAD_ONCE_INIT;
static uint64_t base_ns;

/* Application hooks: weak references, called only if the application
 * defines them (see hal_symbols.c). */
extern void HAL_MspInit(void) __attribute__((weak));
extern void HAL_MspDeInit(void) __attribute__((weak));

/* The tick variables as the application sees them (hal_symbols.c). */
static pthread_once_t vars_once = PTHREAD_ONCE_INIT;
static __IO uint32_t *tick_var;
static uint32_t *prio_var;
static HAL_TickFreqTypeDef *freq_var;

static void find_vars(void) {
  tick_var = mvnet_hal_canonical("uwTick", (void *)&uwTick);
  prio_var = mvnet_hal_canonical("uwTickPrio", &uwTickPrio);
  freq_var = mvnet_hal_canonical("uwTickFreq", &uwTickFreq);
}

static void vars(void) {
  pthread_once(&vars_once, find_vars);
}

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void base_init(void) {
  base_ns = monotonic_ns();
}

/* Fix the base as the process starts, not at the first HAL call. */
__attribute__((constructor)) static void base_init_early(void) {
  pthread_once(&base_once, base_init);
}

uint64_t mvnet_hal_uptime_ns(void) {
  pthread_once(&base_once, base_init);
  return monotonic_ns() - base_ns;
}

void mvnet_hal_sleep_ms(uint32_t ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  uint64_t ns = (uint64_t)deadline.tv_nsec + (uint64_t)(ms % 1000U) * 1000000ULL;
  deadline.tv_sec += (time_t)(ms / 1000U) + (time_t)(ns / 1000000000ULL);
  deadline.tv_nsec = (long)(ns % 1000000000ULL);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR) {
  }
}

HAL_StatusTypeDef HAL_Init(void) {
  pthread_once(&base_once, base_init);
  if (HAL_InitTick(TICK_INT_PRIORITY) != HAL_OK) {
    return HAL_ERROR;
  }
  if (HAL_MspInit != NULL) {
    HAL_MspInit();
  }
  return HAL_OK;
}

HAL_StatusTypeDef HAL_DeInit(void) {
  if (HAL_MspDeInit != NULL) {
    HAL_MspDeInit();
  }
  return HAL_OK;
}

__weak HAL_StatusTypeDef HAL_InitTick(uint32_t TickPriority) {
  /* ST's HAL rejects priorities outside the NVIC's 4 bits. */
  if (TickPriority >= (1UL << 4)) {
    return HAL_ERROR;
  }
  vars();
  *prio_var = TickPriority;
  return HAL_OK;
}

__weak void HAL_IncTick(void) {
  /* The tick comes from the host clock; counting here would double it. */
}

__weak uint32_t HAL_GetTick(void) {
  uint32_t now = (uint32_t)(mvnet_hal_uptime_ns() / 1000000ULL);
  vars();
  *tick_var = now;
  return now;
}

__weak void HAL_Delay(uint32_t Delay) {
  if (Delay == HAL_MAX_DELAY) {
    for (;;) {
      mvnet_hal_sleep_ms(1000000U);
    }
  }
  mvnet_hal_sleep_ms(Delay);
}

uint32_t HAL_GetTickPrio(void) {
  vars();
  return *prio_var;
}

HAL_StatusTypeDef HAL_SetTickFreq(HAL_TickFreqTypeDef Freq) {
  if (Freq != HAL_TICK_FREQ_10HZ && Freq != HAL_TICK_FREQ_100HZ && Freq != HAL_TICK_FREQ_1KHZ) {
    return HAL_ERROR;
  }
  vars();
  *freq_var = Freq;
  return HAL_OK;
}

HAL_TickFreqTypeDef HAL_GetTickFreq(void) {
  vars();
  return *freq_var;
}

void HAL_SuspendTick(void) {
}

void HAL_ResumeTick(void) {
}

uint32_t HAL_GetHalVersion(void) {
  return MVNET_STM32U5XX_HAL_VERSION;
}
