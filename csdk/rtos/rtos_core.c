//go:build ignore

/*
 * rtos_core.c — time, the object/waiter machinery and the flags rules that
 * the CMSIS-RTOS2 stand-in's sources share (see rtos_internal.h).
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtos_internal.h"

/* ---- Interrupt context ---------------------------------------------------- */

/* Overridden by libmvnet (see mvnet_isr.h). */
__attribute__((weak)) int mvnet_in_isr(void) {
  return 0;
}

/* ---- Time ----------------------------------------------------------------- */

/* The HAL stand-in's base, when it is linked in, so that HAL_GetTick() and
 * osKernelGetTickCount() count from the same instant (they agree while the
 * HAL's tick is the clock's; a timer time base's counted tick trails it by
 * its delivery latency only, hal_tim.c); a weak reference is NULL
 * otherwise. */
extern uint64_t mvnet_hal_uptime_ns(void) __attribute__((weak));

static pthread_once_t base_once = PTHREAD_ONCE_INIT;
static uint64_t base_ns;

static void base_init(void) {
  base_ns = mvnet_mono_ns();
}

__attribute__((constructor)) static void base_init_early(void) {
  pthread_once(&base_once, base_init);
}

uint64_t mvnet_rtos_uptime_ns(void) {
  if (mvnet_hal_uptime_ns != NULL) {
    return mvnet_hal_uptime_ns();
  }
  pthread_once(&base_once, base_init);
  return mvnet_mono_ns() - base_ns;
}

void mvnet_rtos_ns_to_ts(uint64_t mono_ns, struct timespec *ts) {
  ts->tv_sec = (time_t)(mono_ns / 1000000000ULL);
  ts->tv_nsec = (long)(mono_ns % 1000000000ULL);
}

void mvnet_rtos_deadline_in(struct timespec *ts, uint32_t ticks) {
  mvnet_rtos_ns_to_ts(mvnet_mono_ns() + mvnet_rtos_ticks_to_ns(ticks), ts);
}

/* ---- Ticks ---------------------------------------------------------------- */

/* The application's copy (FreeRTOS.h); a weak reference is NULL when no file
 * of the application included that header. */
extern const mvnet_freertos_config_t mvnet_freertos_config __attribute__((weak));

static const mvnet_freertos_config_t default_config = {
    .tick_rate_hz = 1000U,
    .max_priorities = 56U,
    .max_task_name_len = 16U,
    .total_heap_size = 64U * 1024U,
};

const mvnet_freertos_config_t *mvnet_rtos_config(void) {
  const mvnet_freertos_config_t *c = &mvnet_freertos_config;
  return c != NULL ? c : &default_config;
}

uint32_t mvnet_rtos_tick_hz(void) {
  uint32_t hz = mvnet_rtos_config()->tick_rate_hz;
  /* A rate FreeRTOS could not run either falls back to 1 kHz. */
  return hz == 0U || hz > 1000000000U ? 1000U : hz;
}

uint64_t mvnet_rtos_ticks_to_ns(uint32_t ticks) {
  return (uint64_t)ticks * 1000000000ULL / mvnet_rtos_tick_hz();
}

uint64_t mvnet_rtos_ns_to_ticks(uint64_t ns) {
  uint64_t hz = mvnet_rtos_tick_hz();
  return ns / 1000000000ULL * hz + ns % 1000000000ULL * hz / 1000000000ULL;
}

uint32_t mvnet_rtos_tick_now(void) {
  return (uint32_t)mvnet_rtos_ns_to_ticks(mvnet_rtos_uptime_ns());
}

char *mvnet_rtos_strdup(const char *s) {
  if (s == NULL) {
    return NULL;
  }
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL) {
    memcpy(d, s, n);
  }
  return d;
}

/* ---- Objects -------------------------------------------------------------- */

void mvnet_rtos_obj_init(mvnet_rtos_obj *o, uint32_t magic, char *name) {
  o->name = name;
  pthread_mutex_init(&o->mu, NULL);
  mvnet_mono_cond_init(&o->cv);
  o->head = o->tail = NULL;
  o->deleted = 0;
  o->magic = magic;
}

int mvnet_rtos_obj_lock(mvnet_rtos_obj *o, uint32_t magic) {
  if (o == NULL || o->magic != magic) {
    return -1;
  }
  pthread_mutex_lock(&o->mu);
  if (o->deleted) {
    pthread_mutex_unlock(&o->mu);
    return -1;
  }
  return 0;
}

void mvnet_rtos_obj_unlock(mvnet_rtos_obj *o) {
  pthread_mutex_unlock(&o->mu);
}

const char *mvnet_rtos_obj_name(const mvnet_rtos_obj *o, uint32_t magic) {
  /* Names never change after creation: no lock needed. */
  if (o == NULL || o->magic != magic) {
    return NULL;
  }
  return o->name;
}

void mvnet_rtos_obj_broadcast(mvnet_rtos_obj *o) {
  pthread_cond_broadcast(&o->cv);
}

void mvnet_rtos_waiter_add(mvnet_rtos_obj *o, mvnet_rtos_waiter *w) {
  w->next = NULL;
  w->prev = o->tail;
  w->done = 0;
  if (o->tail != NULL) {
    o->tail->next = w;
  } else {
    o->head = w;
  }
  o->tail = w;
  mvnet_rtos_thread_set_blocked(1);
}

void mvnet_rtos_waiter_remove(mvnet_rtos_obj *o, mvnet_rtos_waiter *w) {
  if (w->prev != NULL) {
    w->prev->next = w->next;
  } else {
    o->head = w->next;
  }
  if (w->next != NULL) {
    w->next->prev = w->prev;
  } else {
    o->tail = w->prev;
  }
  w->next = w->prev = NULL;
  mvnet_rtos_thread_set_blocked(0);
  if (o->deleted) {
    pthread_cond_broadcast(&o->cv); /* the deleter waits for the list to empty */
  }
}

struct wait_unwind {
  mvnet_rtos_obj *o;
  mvnet_rtos_waiter *w;
};

/* Runs only if the waiting thread is cancelled inside the wait. The
 * condition wait has re-acquired o->mu by then. */
static void wait_unwind(void *arg) {
  struct wait_unwind *u = arg;
  mvnet_rtos_waiter_remove(u->o, u->w);
  pthread_mutex_unlock(&u->o->mu);
}

int mvnet_rtos_obj_wait(mvnet_rtos_obj *o, mvnet_rtos_waiter *w, const struct timespec *deadline) {
  struct wait_unwind u = {o, w};
  int rc;
  pthread_cleanup_push(wait_unwind, &u);
  if (deadline != NULL) {
    rc = pthread_cond_timedwait(&o->cv, &o->mu, deadline);
  } else {
    rc = pthread_cond_wait(&o->cv, &o->mu);
  }
  pthread_cleanup_pop(0);
  return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}

void mvnet_rtos_obj_delete(mvnet_rtos_obj *o) {
  o->deleted = 1;
  o->magic = 0;
  pthread_cond_broadcast(&o->cv);
  /* Not a cancellation point worth honouring here: the object must not be
   * left half-deleted. */
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  while (o->head != NULL) {
    pthread_cond_wait(&o->cv, &o->mu);
  }
  pthread_setcancelstate(old, NULL);
  pthread_mutex_unlock(&o->mu);
  pthread_cond_destroy(&o->cv);
  pthread_mutex_destroy(&o->mu);
  free(o->name);
  o->name = NULL;
}

/* ---- Flags ---------------------------------------------------------------- */

/* If `value` satisfies (flags, options): returns 1, *before = value, and
 * clears the awaited bits unless osFlagsNoClear. */
static int flags_take(uint32_t *value, uint32_t flags, uint32_t options, uint32_t *before) {
  uint32_t v = *value;
  int ok = (options & osFlagsWaitAll) ? (v & flags) == flags : (v & flags) != 0;
  if (!ok) {
    return 0;
  }
  *before = v;
  if ((options & osFlagsNoClear) == 0) {
    *value = v & ~flags;
  }
  return 1;
}

uint32_t mvnet_rtos_flags_set(mvnet_rtos_obj *o, uint32_t *value, uint32_t flags) {
  int woke = 0;
  uint32_t clear_after = 0U; /* FreeRTOS waiters' bits, cleared at the end */
  *value |= flags;
  for (mvnet_rtos_waiter *w = o->head; w != NULL; w = w->next) {
    if (w->done) {
      continue;
    }
    if ((w->options & MVNET_RTOS_WAIT_GROUP) != 0U) {
      uint32_t v = *value;
      uint32_t keep = v;
      if (flags_take(&keep, w->flags, w->options, &w->result)) {
        clear_after |= v & ~keep;
        w->done = 1;
        woke = 1;
      }
    } else if (flags_take(value, w->flags, w->options, &w->result)) {
      w->done = 1;
      woke = 1;
    }
  }
  *value &= ~clear_after;
  if (woke) {
    pthread_cond_broadcast(&o->cv);
  }
  return *value;
}

int mvnet_rtos_obj_has_waiters(const mvnet_rtos_obj *o) {
  return o->head != NULL;
}

uint32_t mvnet_rtos_flags_wait(mvnet_rtos_obj *o, uint32_t *value, uint32_t flags, uint32_t options,
                               uint32_t timeout) {
  uint32_t before;
  if (flags_take(value, flags, options, &before)) {
    return before;
  }
  if (timeout == 0U) {
    return osFlagsErrorResource;
  }
  struct timespec deadline;
  if (timeout != osWaitForever) {
    mvnet_rtos_deadline_in(&deadline, timeout);
  }
  mvnet_rtos_waiter w = {.flags = flags, .options = options};
  mvnet_rtos_waiter_add(o, &w);
  while (!w.done && !o->deleted) {
    if (mvnet_rtos_obj_wait(o, &w, timeout != osWaitForever ? &deadline : NULL) == ETIMEDOUT) {
      break;
    }
  }
  mvnet_rtos_waiter_remove(o, &w);
  if (w.done) {
    return w.result;
  }
  return o->deleted ? osFlagsErrorResource : osFlagsErrorTimeout;
}
