//go:build ignore

/*
 * hal_time.c — HAL_Init, the millisecond tick and HAL_Delay on the host.
 *
 * Two tick sources, as the application chooses:
 *   - By default (nothing calls HAL_IncTick: the host has no SysTick) the
 *     tick is derived from CLOCK_MONOTONIC relative to process start, so it
 *     is exact and monotonic; HAL_GetTick stores it in uwTick.
 *   - Once HAL_IncTick runs (the application's time base does it, e.g. ST's
 *     stm32u5xx_hal_timebase_tim.c from its timer's period callback), the
 *     tick is counted as on the device: uwTick, continued from the clock
 *     value at that moment so that it never goes back, advances by
 *     uwTickFreq per call; HAL_GetTick returns it and HAL_Delay waits on it.
 * HAL_GetTick wraps at 2^32 ms (~49.7 days), like the device's uwTick.
 *
 * HAL_InitTick, HAL_IncTick, HAL_GetTick, HAL_Delay, HAL_SuspendTick and
 * HAL_ResumeTick are weak, as in ST's HAL, so a time base file's
 * definitions win. HAL_Init calls the application's HAL_InitTick also when
 * the library is the -Bsymbolic libmvnet.so (found by name, hal_symbols.c).
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "stm32u5xx_hal.h"
#include "hal_internal.h"
#include "mvnet_host_clock.h"

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

static void base_init(void) {
  base_ns = mvnet_mono_ns();
}

/* Fix the base as the process starts, not at the first HAL call. */
__attribute__((constructor)) static void base_init_early(void) {
  pthread_once(&base_once, base_init);
}

uint64_t mvnet_hal_uptime_ns(void) {
  pthread_once(&base_once, base_init);
  return mvnet_mono_ns() - base_ns;
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

typedef HAL_StatusTypeDef (*init_tick_fn)(uint32_t);

/* The application's HAL_InitTick when it has one: inside libmvnet.so a
 * plain call would bind to the library's own weak definition. */
static HAL_StatusTypeDef init_tick(uint32_t prio) {
  init_tick_fn fn = HAL_InitTick;
  void *found = mvnet_hal_canonical_fn("HAL_InitTick");
  if (found != NULL) {
    memcpy(&fn, &found, sizeof fn);
  }
  return fn(prio);
}

HAL_StatusTypeDef HAL_Init(void) {
  pthread_once(&base_once, base_init);
  if (init_tick(TICK_INT_PRIORITY) != HAL_OK) {
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

static uint32_t clock_ms(void) {
  return (uint32_t)(mvnet_hal_uptime_ns() / 1000000ULL);
}

/* counted: HAL_IncTick has run, uwTick is the tick. tick_mu/tick_cond
 * (CLOCK_MONOTONIC) let HAL_Delay wait for the next increment. */
static int counted;
static pthread_mutex_t tick_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tick_cond;
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;

static void cond_init(void) {
  mvnet_mono_cond_init(&tick_cond);
}

__weak void HAL_IncTick(void) {
  vars();
  pthread_once(&cond_once, cond_init);
  pthread_mutex_lock(&tick_mu);
  if (!__atomic_load_n(&counted, __ATOMIC_ACQUIRE)) {
    *tick_var = clock_ms(); /* continue from the clock: the tick never goes back */
    __atomic_store_n(&counted, 1, __ATOMIC_RELEASE);
  }
  *tick_var += (uint32_t)*freq_var;
  pthread_cond_broadcast(&tick_cond);
  pthread_mutex_unlock(&tick_mu);
}

__weak uint32_t HAL_GetTick(void) {
  vars();
  if (__atomic_load_n(&counted, __ATOMIC_ACQUIRE)) {
    return *tick_var;
  }
  uint32_t now = clock_ms();
  pthread_mutex_lock(&tick_mu);
  if (!__atomic_load_n(&counted, __ATOMIC_ACQUIRE)) {
    *tick_var = now;
  } else {
    now = *tick_var; /* the time base took over meanwhile */
  }
  pthread_mutex_unlock(&tick_mu);
  return now;
}

/* Waits until the counted tick has advanced by at least wait from start,
 * as ST's HAL_Delay does; an increment wakes it. */
static void delay_counted(uint32_t start, uint32_t wait) {
  pthread_once(&cond_once, cond_init);
  pthread_mutex_lock(&tick_mu);
  while ((uint32_t)(*tick_var - start) < wait) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += 1; /* re-check now and then; an increment signals anyway */
    pthread_cond_timedwait(&tick_cond, &tick_mu, &deadline);
  }
  pthread_mutex_unlock(&tick_mu);
}

/* The library's "in an interrupt handler" (csdk/lib/nvic.c), weak so that
 * the HAL links without it. */
extern int mvnet_in_isr(void) __attribute__((weak));

__weak void HAL_Delay(uint32_t Delay) {
  vars();
  /* A handler waiting on the counted tick would wait for ever: the host's
   * interrupt thread runs one handler at a time, so the timer's cannot run
   * (on the device it can, when its priority is higher). Such a wait
   * follows the clock instead. */
  int in_handler = mvnet_in_isr != NULL && mvnet_in_isr() != 0;
  if (__atomic_load_n(&counted, __ATOMIC_ACQUIRE) && !in_handler) {
    uint32_t wait = Delay;
    if (wait < HAL_MAX_DELAY) {
      wait += (uint32_t)*freq_var; /* at least Delay whole ticks, as ST's HAL */
    }
    delay_counted(*tick_var, wait);
    return;
  }
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

/* As ST's: a new frequency re-runs HAL_InitTick at the tick's priority
 * (a time base reprograms its timer for it) and is undone if that fails. */
HAL_StatusTypeDef HAL_SetTickFreq(HAL_TickFreqTypeDef Freq) {
  if (Freq != HAL_TICK_FREQ_10HZ && Freq != HAL_TICK_FREQ_100HZ && Freq != HAL_TICK_FREQ_1KHZ) {
    return HAL_ERROR;
  }
  vars();
  HAL_TickFreqTypeDef prev = *freq_var;
  if (Freq == prev) {
    return HAL_OK;
  }
  *freq_var = Freq;
  if (init_tick(*prio_var) != HAL_OK) {
    *freq_var = prev;
    return HAL_ERROR;
  }
  return HAL_OK;
}

HAL_TickFreqTypeDef HAL_GetTickFreq(void) {
  vars();
  return *freq_var;
}

/* No effect on the clock-based tick. A time base file defines its own
 * (disabling its timer's update interrupt). */
__weak void HAL_SuspendTick(void) {
}

__weak void HAL_ResumeTick(void) {
}

uint32_t HAL_GetHalVersion(void) {
  return MVNET_STM32U5XX_HAL_VERSION;
}
