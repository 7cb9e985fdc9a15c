/*
 * mvnet_host_clock.h — the host clock that libmvnet's C sources share (the
 * HAL's tick and timers in csdk/hal, the RTOS's ticks and waits in
 * csdk/rtos): CLOCK_MONOTONIC in nanoseconds, and condition variables whose
 * timed waits run on it. Internal to libmvnet: applications have no use
 * for it. Include it after defining _POSIX_C_SOURCE (200809L or later).
 */
#ifndef MVNET_HOST_CLOCK_H
#define MVNET_HOST_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline uint64_t mvnet_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Initialises cv so that pthread_cond_timedwait takes CLOCK_MONOTONIC
 * deadlines (immune to wall-clock steps). */
static inline void mvnet_mono_cond_init(pthread_cond_t *cv) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(cv, &a);
  pthread_condattr_destroy(&a);
}

#endif /* MVNET_HOST_CLOCK_H */
