/*
 * hal_internal.h — internal helpers shared by the HAL stand-in sources.
 */
#ifndef MVNET_HAL_INTERNAL_H
#define MVNET_HAL_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* A thread may be cancelled (osThreadTerminate). HAL calls that hold a lock
 * or a half-updated handle while they trace or write turn cancellation off
 * for that stretch, so a cancelled caller cannot leave them stuck. */
static inline int mvnet_hal_nocancel(void) {
  int old = 0;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  return old;
}

static inline void mvnet_hal_restore_cancel(int old) {
  pthread_setcancelstate(old, NULL);
}

/* The instance of the HAL data object `name` (own: this file's definition)
 * that the application sees. They differ when these sources are inside a
 * shared library linked with -Bsymbolic (as Go's c-shared libmvnet is) and
 * the executable refers to the object: the executable then has its own copy
 * (a copy relocation) while the library's code would bind to the library's.
 * Every access to GPIOx, USARTx, SystemCoreClock and the uwTick variables
 * goes through the pointer this returns, resolved once. */
void *mvnet_hal_canonical(const char *name, void *own);

/* The function `name` as the application sees it: the executable's
 * definition when it has one (it overrides the HAL's weak one), else the
 * first in load order; NULL without a dynamic symbol table (a static link,
 * where the linker already chose). A -Bsymbolic shared library calling its
 * own weak function would miss the application's override: HAL_Init looks
 * HAL_InitTick up this way. */
void *mvnet_hal_canonical_fn(const char *name);

/* Nanoseconds since the process started (the HAL's tick base), from
 * CLOCK_MONOTONIC. Also read by the RTOS stand-in so that HAL_GetTick() and
 * osKernelGetTickCount() count from the same instant. */
uint64_t mvnet_hal_uptime_ns(void);

/* Sleeps until `ms` milliseconds have passed, resuming after signals. */
void mvnet_hal_sleep_ms(uint32_t ms);

/* Writes `n` bytes of `src` into `dst` (capacity `cap`, cap > 0) as the body
 * of a JSON string (quotes, backslashes and control bytes escaped, bytes
 * >= 0x80 as \u00XX so the line stays valid UTF-8). Stops early rather than
 * overflow; always NUL-terminates. Returns the number of source bytes
 * consumed. */
size_t mvnet_hal_json_escape(char *dst, size_t cap, const uint8_t *src, size_t n);

/* Trace lines show at most MVNET_HAL_TRACE_BYTES_MAX bytes of a transfer
 * (then "truncated":true); MVNET_HAL_TRACE_HEX_CAP holds that many as hex
 * pairs separated by spaces, NUL included. */
#define MVNET_HAL_TRACE_BYTES_MAX 64U
#define MVNET_HAL_TRACE_HEX_CAP (MVNET_HAL_TRACE_BYTES_MAX * 3U + 1U)

/* Appends the `an` bytes of `a` then the `bn` of `b` (NULL when bn is 0) to
 * the string in `dst` (capacity `cap`) as lower-case hex pairs separated by
 * spaces, at most MVNET_HAL_TRACE_BYTES_MAX of them; returns whether it cut
 * them (hal_json.c). */
int mvnet_hal_append_hex(char *dst, size_t cap, const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn);

/* The State/Lock hand-over of a peripheral handle (any type with State and
 * Lock), under one lock for every handle (hal_json.c), so two threads
 * sharing a handle see HAL_BUSY rather than interleave.
 * MVNET_HAL_CLAIM sets ok to whether the handle was `ready` and unlocked,
 * and if so moves it to `to` and locks it; MVNET_HAL_RELEASE moves it back
 * to `ready` and unlocks it. */
void mvnet_hal_handles_lock(void);
void mvnet_hal_handles_unlock(void);
#define MVNET_HAL_CLAIM(h, ready, to, ok)                          \
  do {                                                             \
    mvnet_hal_handles_lock();                                      \
    (ok) = (h)->State == (ready) && (h)->Lock == HAL_UNLOCKED;     \
    if (ok) {                                                      \
      (h)->State = (to);                                           \
      (h)->Lock = HAL_LOCKED;                                      \
    }                                                              \
    mvnet_hal_handles_unlock();                                    \
  } while (0)
#define MVNET_HAL_RELEASE(h, ready)                                \
  do {                                                             \
    mvnet_hal_handles_lock();                                      \
    (h)->State = (ready);                                          \
    (h)->Lock = HAL_UNLOCKED;                                      \
    mvnet_hal_handles_unlock();                                    \
  } while (0)

#endif /* MVNET_HAL_INTERNAL_H */
