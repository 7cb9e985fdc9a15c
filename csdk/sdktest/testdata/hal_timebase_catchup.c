/*
 * hal_timebase_catchup.c — the timer time base (hal_timebase_tim.c, linked
 * with it) loses no tick when its interrupt cannot run for a while: TIM5's
 * handler, pended by software, holds libmvnet's interrupt thread for
 * STALL_MS, so TIM6's update interrupt is held back for ~STALL_MS periods;
 * afterwards those periods are still delivered and HAL_GetTick catches up
 * with the clock. Prints "PASS" and exits 0, or prints what failed.
 */
#include <stdio.h>
#include <time.h>

#include "stm32u5xx_hal.h"

extern volatile uint32_t timebase_callbacks;

#define STALL_MS 500U
/* How far HAL_GetTick may trail the clock once caught up: the delivery
 * latency of a loaded host, far below the STALL_MS that were lost before. */
#define SLACK_MS 150U

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

static volatile int stalled;

void TIM5_IRQHandler(void) {
  uint64_t end = mono_ms() + STALL_MS;
  while (mono_ms() < end) {
  }
  stalled = 1;
}

int main(void) {
  if (HAL_Init() != HAL_OK) {
    printf("FAIL: HAL_Init\n");
    return 1;
  }
  /* Wait (generous deadline) for the time base to run. */
  uint64_t guard = mono_ms() + 60000U;
  while (timebase_callbacks < 3U && mono_ms() < guard) {
  }
  uint32_t c0 = timebase_callbacks;
  uint32_t t0 = HAL_GetTick();
  uint64_t m0 = mono_ms();

  HAL_NVIC_EnableIRQ(TIM5_IRQn);
  NVIC_SetPendingIRQ(TIM5_IRQn);
  while (!stalled && mono_ms() < guard) {
  }

  /* Caught up: the tick's advance reaches the clock's, less SLACK_MS. */
  int caught_up = 0;
  uint64_t lag = 0;
  guard = mono_ms() + 30000U;
  while (mono_ms() < guard) {
    uint64_t clock = mono_ms() - m0;
    uint32_t tick = HAL_GetTick() - t0;
    lag = clock > tick ? clock - tick : 0;
    if (lag <= SLACK_MS) {
      caught_up = 1;
      break;
    }
  }
  uint32_t c1 = timebase_callbacks;
  printf("stall %u ms; callbacks %u; lag %llu ms\n", STALL_MS, (unsigned)(c1 - c0), (unsigned long long)lag);
  if (!stalled || !caught_up) {
    printf("FAIL: HAL_GetTick trails the clock by %llu ms after the stall\n", (unsigned long long)lag);
    return 1;
  }
  printf("PASS\n");
  return 0;
}
