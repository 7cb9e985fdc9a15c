/*
 * hal_tickfreq.c — HAL_SetTickFreq re-runs the application's HAL_InitTick
 * (defined here) at uwTickPrio with the new frequency in force, and puts
 * the old frequency back when it fails, as ST's HAL does. Prints
 * "PASS tickfreq" and exits 0, or what failed.
 */
#include <stdio.h>

#include "stm32u5xx_hal.h"

static int calls, fail;
static uint32_t seen_prio;
static HAL_TickFreqTypeDef seen_freq;

HAL_StatusTypeDef HAL_InitTick(uint32_t TickPriority) {
  calls++;
  seen_prio = TickPriority;
  seen_freq = uwTickFreq;
  if (fail) {
    return HAL_ERROR;
  }
  uwTickPrio = TickPriority;
  return HAL_OK;
}

static int failed;
#define CHECK(cond)                                  \
  do {                                               \
    if (!(cond)) {                                   \
      printf("FAIL line %d: %s\n", __LINE__, #cond); \
      failed = 1;                                    \
    }                                                \
  } while (0)

int main(void) {
  CHECK(HAL_Init() == HAL_OK && calls == 1 && HAL_GetTickPrio() == TICK_INT_PRIORITY);
  CHECK(HAL_SetTickFreq(HAL_TICK_FREQ_100HZ) == HAL_OK);
  CHECK(calls == 2 && seen_prio == TICK_INT_PRIORITY && seen_freq == HAL_TICK_FREQ_100HZ);
  CHECK(HAL_GetTickFreq() == HAL_TICK_FREQ_100HZ);
  CHECK(HAL_SetTickFreq(HAL_TICK_FREQ_100HZ) == HAL_OK && calls == 2); /* unchanged: no re-init */
  fail = 1;
  CHECK(HAL_SetTickFreq(HAL_TICK_FREQ_10HZ) == HAL_ERROR);
  CHECK(calls == 3 && seen_freq == HAL_TICK_FREQ_10HZ);
  CHECK(HAL_GetTickFreq() == HAL_TICK_FREQ_100HZ); /* rolled back */
  CHECK(HAL_SetTickFreq((HAL_TickFreqTypeDef)7) == HAL_ERROR && calls == 3);
  if (failed) {
    return 1;
  }
  printf("PASS tickfreq\n");
  return 0;
}
