/*
 * hal_timebase.c — HAL_GetTick and HAL_Delay driven by the application's
 * timer time base (hal_timebase_tim.c, linked with it), as on the device.
 * Exits 0 when every check passed; prints what failed otherwise.
 */
#include <stdio.h>
#include <time.h>

#include "stm32u5xx_hal.h"

extern volatile uint32_t timebase_callbacks;
extern volatile int timebase_initialised;
extern volatile int timebase_outside_handler;

static int failed;

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) {                                                   \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
      failed = 1;                                                    \
    }                                                                \
  } while (0)

static TIM_HandleTypeDef probe;
static volatile int delayed_in_handler;

void TIM7_IRQHandler(void) {
  if (!delayed_in_handler) {
    HAL_Delay(2);
    delayed_in_handler = 1;
  }
  HAL_TIM_IRQHandler(&probe);
}

/* Waits (deadline: 60 s of the host clock, a failure guard, not a bound
 * on the behaviour) until *flag is set. */
static int wait_flag(volatile int *flag) {
  struct timespec start, now, nap = {0, 1000000};
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (!*flag) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > 60) {
      return 0;
    }
    nanosleep(&nap, NULL);
  }
  return 1;
}

/* The same until the timer has called back n times. */
static int wait_callbacks(uint32_t n) {
  struct timespec start, now, nap = {0, 1000000};
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (timebase_callbacks < n) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > 60) {
      return 0;
    }
    nanosleep(&nap, NULL);
  }
  return 1;
}

int main(void) {
  CHECK(HAL_Init() == HAL_OK);
  CHECK(timebase_initialised); /* HAL_Init called the application's HAL_InitTick */
  CHECK(HAL_GetTickPrio() == TICK_INT_PRIORITY);
  /* Sample projects call it again from their clock set-up. */
  SystemCoreClockUpdate();
  CHECK(HAL_InitTick(TICK_INT_PRIORITY) == HAL_OK);
  CHECK(wait_callbacks(3));

  /* HAL_Delay(50) waits for 51 increments of uwTick, each one from the
   * TIM6 interrupt. */
  uint32_t c0 = timebase_callbacks;
  uint32_t t0 = HAL_GetTick();
  HAL_Delay(50);
  uint32_t t1 = HAL_GetTick();
  uint32_t c1 = timebase_callbacks;
  CHECK(t1 - t0 >= 51U);
  CHECK(c1 - c0 >= 51U);
  CHECK((uint32_t)(uwTick - t1) < 0x80000000U); /* the application's uwTick is the tick */
  CHECK(!timebase_outside_handler);

  /* A second timer whose handler calls HAL_Delay: it returns, although the
   * tick's own handler cannot run meanwhile. */
  probe.Instance = TIM7;
  probe.Init.Prescaler = 15999U;
  probe.Init.Period = 9U; /* 160 MHz / 16000 / 10: 1 kHz */
  CHECK(HAL_TIM_Base_Init(&probe) == HAL_OK);
  CHECK(HAL_TIM_Base_GetState(&probe) == HAL_TIM_STATE_READY);
  CHECK(HAL_TIM_Base_Start_IT(&probe) == HAL_OK);
  CHECK(HAL_TIM_Base_Start_IT(&probe) == HAL_ERROR); /* already started */
  HAL_NVIC_EnableIRQ(TIM7_IRQn);
  CHECK(wait_flag(&delayed_in_handler));
  CHECK(HAL_TIM_Base_Stop_IT(&probe) == HAL_OK);
  CHECK(HAL_TIM_Base_DeInit(&probe) == HAL_OK);
  probe.Instance = (TIM_TypeDef *)&probe;
  CHECK(HAL_TIM_Base_Init(&probe) == HAL_ERROR); /* not a timer */

  printf("ticks %u callbacks %u\n", (unsigned)(t1 - t0), (unsigned)(c1 - c0));
  if (failed) {
    return 1;
  }
  printf("PASS\n");
  return 0;
}
