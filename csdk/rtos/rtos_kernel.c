//go:build ignore

/*
 * rtos_kernel.c — kernel state, ticks and delays.
 *
 * The kernel goes Inactive → Ready (osKernelInitialize, or implicitly at the
 * first osThreadNew/osTimerNew) → Running (osKernelStart). Threads and timer
 * callbacks only run once it is Running, as on the device; osKernelStart
 * then parks its caller for good. Locked is Running while some thread holds
 * the scheduler lock (osKernelLock, vTaskSuspendAll: one lock, in
 * freertos_port.c); it keeps out the other threads that take it, not
 * threads that do not.
 *
 * The tick runs at the application's configTICK_RATE_HZ (1 kHz without a
 * FreeRTOSConfig.h) on CLOCK_MONOTONIC since process start.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <string.h>

#include "rtos_internal.h"

/* mu guards the kernel state; cv announces the start. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static osKernelState_t state = osKernelInactive;

#define MVNET_RTOS_API_VERSION 20010003U    /* CMSIS-RTOS2 2.1.3 */
#define MVNET_RTOS_KERNEL_VERSION 10000000U /* mvnet host kernel 1.0.0 */
#define MVNET_RTOS_KERNEL_ID "mvnet host RTOS (pthreads)"

osStatus_t osKernelInitialize(void) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  osStatus_t st = osOK;
  pthread_mutex_lock(&mu);
  if (state == osKernelInactive) {
    state = osKernelReady;
  } else if (state != osKernelReady) {
    st = osError;
  }
  pthread_mutex_unlock(&mu);
  return st;
}

void mvnet_rtos_kernel_autoinit(void) {
  pthread_mutex_lock(&mu);
  if (state == osKernelInactive) {
    state = osKernelReady;
  }
  pthread_mutex_unlock(&mu);
}

static void unlock_mu(void *arg) {
  (void)arg;
  pthread_mutex_unlock(&mu);
}

void mvnet_rtos_wait_kernel_running(void) {
  pthread_mutex_lock(&mu);
  pthread_cleanup_push(unlock_mu, NULL);
  while (state != osKernelRunning) {
    pthread_cond_wait(&cv, &mu);
  }
  pthread_cleanup_pop(1);
}

osStatus_t osKernelGetInfo(osVersion_t *version, char *id_buf, uint32_t id_size) {
  if (version != NULL) {
    version->api = MVNET_RTOS_API_VERSION;
    version->kernel = MVNET_RTOS_KERNEL_VERSION;
  }
  if (id_buf != NULL && id_size > 0U) {
    strncpy(id_buf, MVNET_RTOS_KERNEL_ID, id_size - 1U);
    id_buf[id_size - 1U] = '\0';
  }
  return osOK;
}

osKernelState_t osKernelGetState(void) {
  pthread_mutex_lock(&mu);
  osKernelState_t s = state;
  pthread_mutex_unlock(&mu);
  return s == osKernelRunning && mvnet_rtos_sched_held() ? osKernelLocked : s;
}

osStatus_t osKernelStart(void) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  pthread_mutex_lock(&mu);
  if (state != osKernelReady) {
    pthread_mutex_unlock(&mu);
    return osError;
  }
  state = osKernelRunning;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  /* The scheduler never hands control back to main: park the caller. The
   * threads end the process (exit, mvTestingComplete) when they are done. */
  pthread_mutex_t park_mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t park_cv = PTHREAD_COND_INITIALIZER;
  pthread_mutex_lock(&park_mu);
  for (;;) {
    pthread_cond_wait(&park_cv, &park_mu);
  }
}

static int running(void) {
  pthread_mutex_lock(&mu);
  int r = state == osKernelRunning;
  pthread_mutex_unlock(&mu);
  return r;
}

/* The three return the previous (Lock, Unlock) or new (RestoreLock) lock
 * state of the caller: 1 while it holds the scheduler lock. As in ST's
 * cmsis_os2.c, an unlock that leaves the caller still holding it (it was
 * taken more than once) reports osError. */
int32_t osKernelLock(void) {
  if (MVNET_RTOS_IN_ISR()) {
    return (int32_t)osErrorISR;
  }
  if (!running()) {
    return (int32_t)osError;
  }
  if (mvnet_rtos_sched_depth() > 0U) {
    return 1;
  }
  mvnet_rtos_sched_lock();
  return 0;
}

/* unlock_once releases one hold of the caller's; 0, or osError if it still
 * holds the lock. */
static int32_t unlock_once(void) {
  mvnet_rtos_sched_unlock();
  return mvnet_rtos_sched_depth() > 0U ? (int32_t)osError : 0;
}

int32_t osKernelUnlock(void) {
  if (MVNET_RTOS_IN_ISR()) {
    return (int32_t)osErrorISR;
  }
  if (!running()) {
    return (int32_t)osError;
  }
  if (mvnet_rtos_sched_depth() == 0U) {
    return 0;
  }
  return unlock_once() == 0 ? 1 : (int32_t)osError;
}

int32_t osKernelRestoreLock(int32_t lock) {
  if (MVNET_RTOS_IN_ISR()) {
    return (int32_t)osErrorISR;
  }
  if (!running() || (lock != 0 && lock != 1)) {
    return (int32_t)osError;
  }
  if (lock == 1) {
    if (mvnet_rtos_sched_depth() == 0U) {
      mvnet_rtos_sched_lock();
    }
    return 1;
  }
  return mvnet_rtos_sched_depth() == 0U ? 0 : unlock_once();
}

uint32_t osKernelSuspend(void) {
  return 0U;
}

void osKernelResume(uint32_t sleep_ticks) {
  (void)sleep_ticks;
}

uint32_t osKernelGetTickCount(void) {
  return mvnet_rtos_tick_now();
}

uint32_t osKernelGetTickFreq(void) {
  return mvnet_rtos_tick_hz();
}

uint32_t osKernelGetSysTimerCount(void) {
  /* ns × 0.16 = ticks of a 160 MHz counter; wraps at 2^32 like SysTick's
   * extended count. */
  return (uint32_t)(mvnet_rtos_uptime_ns() * 4U / 25U);
}

uint32_t osKernelGetSysTimerFreq(void) {
  return MVNET_RTOS_SYSTIMER_HZ;
}

void mvnet_rtos_sleep_until(uint64_t mono_ns) {
  struct timespec ts;
  mvnet_rtos_ns_to_ts(mono_ns, &ts);
  mvnet_rtos_thread_set_blocked(1);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
  mvnet_rtos_thread_set_blocked(0);
}

osStatus_t osDelay(uint32_t ticks) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  if (ticks == 0U) {
    return osOK;
  }
  /* osWaitForever is a plain (very long) tick count here, as in RTX. */
  mvnet_rtos_suspension_point();
  mvnet_rtos_sleep_until(mvnet_mono_ns() + mvnet_rtos_ticks_to_ns(ticks));
  return osOK;
}

osStatus_t osDelayUntil(uint32_t ticks) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  uint64_t mono = mvnet_mono_ns();
  uint64_t up = mvnet_rtos_uptime_ns();
  uint64_t now_ticks = mvnet_rtos_ns_to_ticks(up);
  /* Distance in the 32-bit tick space: 0 or "in the past" (top bit set) is
   * a parameter error, as in RTX. */
  uint32_t delay = ticks - (uint32_t)now_ticks;
  if (delay == 0U || (delay >> 31) != 0U) {
    return osErrorParameter;
  }
  mvnet_rtos_sleep_until_tick(now_ticks + delay, mono, up);
  return osOK;
}

void mvnet_rtos_sleep_until_tick(uint64_t tick, uint64_t mono, uint64_t up) {
  /* The uptime at which the count reaches `tick` (rounded up), mapped onto
   * the monotonic clock through the pair read together. */
  uint64_t hz = mvnet_rtos_tick_hz();
  uint64_t target_up = tick / hz * 1000000000ULL + (tick % hz * 1000000000ULL + hz - 1U) / hz;
  mvnet_rtos_sleep_until(mono + (target_up > up ? target_up - up : 0U));
}
