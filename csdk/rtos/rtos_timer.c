//go:build ignore

/*
 * rtos_timer.c — CMSIS-RTOS2 software timers.
 *
 * One internal timer thread (started with the first osTimerNew, running once
 * the kernel has started) calls the callbacks one at a time, in expiry
 * order, as RTX's timer thread does: a callback that blocks delays the other
 * timers. Periodic timers keep their phase (next expiry = previous + period);
 * if the thread falls a whole period behind, missed expiries are skipped
 * rather than fired in a burst. A timer may be stopped, restarted or deleted
 * from its own callback.
 *
 * FreeRTOS's timers (timers.h) are the same objects: their callback gets the
 * timer's handle, they keep a period between starts and an ID, and their
 * commands work from handlers too (they only take the list's lock).
 * xTimerPendFunctionCall's calls run on the same thread, before any timer
 * callback that is due, in the order they were pended.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>

#include "rtos_internal.h"

typedef struct rtos_timer {
  uint32_t magic; /* MVNET_RTOS_MAGIC_TIMER; 0 once deleted */
  char *name;
  osTimerFunc_t func;
  void *arg;
  void *timer_id; /* FreeRTOS's pvTimerGetTimerID; guarded by mu */
  /* Guarded by mu: */
  osTimerType_t type;
  int running;
  uint64_t expiry; /* CLOCK_MONOTONIC ns */
  uint64_t period; /* ns */
  int doomed;      /* deleted during its callback: freed after it returns */
  struct rtos_timer *next;
} rtos_timer;

/* mu guards the timer list and the fields marked above; cv wakes the timer
 * thread when a timer starts, stops or goes away. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static rtos_timer *timers;
static rtos_timer *executing;
static int thread_started;
static osThreadId_t thread_id;

static rtos_timer *earliest(void) {
  rtos_timer *e = NULL;
  for (rtos_timer *t = timers; t != NULL; t = t->next) {
    if (t->running && (e == NULL || t->expiry < e->expiry)) {
      e = t;
    }
  }
  return e;
}

/* Calls pended for the timer thread (xTimerPendFunctionCall), oldest first;
 * guarded by mu. */
typedef struct pended_call {
  struct pended_call *next;
  void (*func)(void *, uint32_t);
  void *p1;
  uint32_t p2;
} pended_call;
static pended_call *pended_head, *pended_tail;

static void timer_thread(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  for (;;) {
    if (pended_head != NULL) {
      pended_call *c = pended_head;
      pended_head = c->next;
      if (pended_head == NULL) {
        pended_tail = NULL;
      }
      pthread_mutex_unlock(&mu);
      c->func(c->p1, c->p2);
      free(c);
      pthread_mutex_lock(&mu);
      continue;
    }
    rtos_timer *t = earliest();
    if (t == NULL) {
      pthread_cond_wait(&cv, &mu);
      continue;
    }
    uint64_t now = mvnet_mono_ns();
    if (t->expiry > now) {
      struct timespec ts;
      mvnet_rtos_ns_to_ts(t->expiry, &ts);
      pthread_cond_timedwait(&cv, &mu, &ts);
      continue;
    }
    if (t->type == osTimerPeriodic) {
      t->expiry += t->period;
      if (t->expiry <= now) {
        t->expiry = now + t->period;
      }
    } else {
      t->running = 0;
    }
    osTimerFunc_t func = t->func;
    void *func_arg = t->arg;
    executing = t;
    pthread_mutex_unlock(&mu);
    func(func_arg);
    pthread_mutex_lock(&mu);
    executing = NULL;
    if (t->doomed) {
      free(t->name);
      free(t);
    }
  }
}

static rtos_timer *timer_new(const char *name, osTimerFunc_t func, osTimerType_t type, void *argument,
                             int own_handle);

/* With mu held. */
static int start_thread(void) {
  if (thread_started) {
    return 0;
  }
  mvnet_mono_cond_init(&cv);
  thread_id = mvnet_rtos_thread_new_internal(timer_thread, NULL, "mvnet timers");
  if (thread_id == NULL) {
    pthread_cond_destroy(&cv);
    return -1;
  }
  thread_started = 1;
  return 0;
}

osTimerId_t osTimerNew(osTimerFunc_t func, osTimerType_t type, void *argument, const osTimerAttr_t *attr) {
  if (MVNET_RTOS_IN_ISR() || func == NULL || (type != osTimerOnce && type != osTimerPeriodic)) {
    return NULL;
  }
  return timer_new(attr != NULL ? attr->name : NULL, func, type, argument, 0);
}

void *mvnet_rtos_timer_new(const char *name, uint32_t period_ticks, int periodic, void *timer_id,
                           void (*func)(void *)) {
  if (func == NULL || period_ticks == 0U) {
    return NULL;
  }
  rtos_timer *t = timer_new(name, func, periodic ? osTimerPeriodic : osTimerOnce, NULL, 1);
  if (t != NULL) {
    t->timer_id = timer_id;
    t->period = mvnet_rtos_ticks_to_ns(period_ticks);
  }
  return t;
}

/* `own_handle`: the callback gets the timer itself (FreeRTOS). */
static rtos_timer *timer_new(const char *name, osTimerFunc_t func, osTimerType_t type, void *argument,
                             int own_handle) {
  mvnet_rtos_kernel_autoinit();
  rtos_timer *t = calloc(1, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  t->name = mvnet_rtos_strdup(name);
  if (name != NULL && t->name == NULL) {
    free(t);
    return NULL;
  }
  t->func = func;
  t->arg = own_handle ? t : argument;
  t->type = type;
  t->magic = MVNET_RTOS_MAGIC_TIMER;
  pthread_mutex_lock(&mu);
  if (start_thread() != 0) {
    pthread_mutex_unlock(&mu);
    free(t->name);
    free(t);
    return NULL;
  }
  t->next = timers;
  timers = t;
  pthread_mutex_unlock(&mu);
  return t;
}

const char *osTimerGetName(osTimerId_t timer_id) {
  rtos_timer *t = timer_id;
  return t != NULL && t->magic == MVNET_RTOS_MAGIC_TIMER ? t->name : NULL;
}

/* Locks mu if timer_id is a live timer. */
static rtos_timer *lock(osTimerId_t timer_id) {
  rtos_timer *t = timer_id;
  if (t == NULL || t->magic != MVNET_RTOS_MAGIC_TIMER) {
    return NULL;
  }
  pthread_mutex_lock(&mu);
  if (t->magic != MVNET_RTOS_MAGIC_TIMER) {
    pthread_mutex_unlock(&mu);
    return NULL;
  }
  return t;
}

osStatus_t osTimerStart(osTimerId_t timer_id, uint32_t ticks) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  if (ticks == 0U) {
    return osErrorParameter;
  }
  return mvnet_rtos_timer_start(timer_id, ticks);
}

osStatus_t mvnet_rtos_timer_start(void *timer_id, uint32_t ticks) {
  rtos_timer *t = lock(timer_id);
  if (t == NULL) {
    return osErrorParameter;
  }
  if (ticks != 0U) {
    t->period = mvnet_rtos_ticks_to_ns(ticks);
  }
  t->expiry = mvnet_mono_ns() + t->period;
  t->running = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  return osOK;
}

osStatus_t osTimerStop(osTimerId_t timer_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  return mvnet_rtos_timer_stop(timer_id);
}

osStatus_t mvnet_rtos_timer_stop(void *timer_id) {
  rtos_timer *t = lock(timer_id);
  if (t == NULL) {
    return osErrorParameter;
  }
  osStatus_t st = osOK;
  if (!t->running) {
    st = osErrorResource;
  } else {
    t->running = 0;
    pthread_cond_broadcast(&cv);
  }
  pthread_mutex_unlock(&mu);
  return st;
}

uint32_t osTimerIsRunning(osTimerId_t timer_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return 0U;
  }
  rtos_timer *t = lock(timer_id);
  if (t == NULL) {
    return 0U;
  }
  uint32_t r = t->running ? 1U : 0U;
  pthread_mutex_unlock(&mu);
  return r;
}

osStatus_t osTimerDelete(osTimerId_t timer_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  return mvnet_rtos_timer_delete(timer_id);
}

osStatus_t mvnet_rtos_timer_delete(void *timer_id) {
  rtos_timer *t = lock(timer_id);
  if (t == NULL) {
    return osErrorParameter;
  }
  for (rtos_timer **p = &timers; *p != NULL; p = &(*p)->next) {
    if (*p == t) {
      *p = t->next;
      break;
    }
  }
  t->magic = 0;
  t->running = 0;
  if (executing == t) {
    t->doomed = 1;
  } else {
    free(t->name);
    free(t);
  }
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  return osOK;
}

int mvnet_rtos_timer_get(void *timer_id, int which, uintptr_t *value) {
  rtos_timer *t = lock(timer_id);
  if (t == NULL) {
    return -1;
  }
  switch (which) {
  case MVNET_TIMER_ID: *value = (uintptr_t)t->timer_id; break;
  case MVNET_TIMER_ACTIVE: *value = (uintptr_t)t->running; break;
  case MVNET_TIMER_PERIOD: *value = (uintptr_t)mvnet_rtos_ns_to_ticks(t->period); break;
  case MVNET_TIMER_RELOAD: *value = t->type == osTimerPeriodic; break;
  default: {
    /* The expiry as a tick count, in the tick's 32-bit space. */
    uint64_t now = mvnet_mono_ns();
    uint64_t left = t->expiry > now ? t->expiry - now : 0U;
    *value = (uintptr_t)(uint32_t)(mvnet_rtos_tick_now() + (uint32_t)mvnet_rtos_ns_to_ticks(left));
    break;
  }
  }
  pthread_mutex_unlock(&mu);
  return 0;
}

int mvnet_rtos_timer_set(void *timer_id, int which, uintptr_t value) {
  rtos_timer *t = lock(timer_id);
  if (t == NULL) {
    return -1;
  }
  if (which == MVNET_TIMER_ID) {
    t->timer_id = (void *)value;
  } else if (which == MVNET_TIMER_RELOAD) {
    t->type = value ? osTimerPeriodic : osTimerOnce;
  }
  pthread_mutex_unlock(&mu);
  return 0;
}

osThreadId_t mvnet_rtos_timer_thread(void) {
  pthread_mutex_lock(&mu);
  osThreadId_t id = thread_id;
  pthread_mutex_unlock(&mu);
  return id;
}

int mvnet_rtos_timer_pend(void (*func)(void *, uint32_t), void *p1, uint32_t p2) {
  if (func == NULL) {
    return -1;
  }
  pended_call *c = malloc(sizeof *c);
  if (c == NULL) {
    return -1;
  }
  *c = (pended_call){.func = func, .p1 = p1, .p2 = p2};
  pthread_mutex_lock(&mu);
  if (start_thread() != 0) {
    pthread_mutex_unlock(&mu);
    free(c);
    return -1;
  }
  if (pended_tail != NULL) {
    pended_tail->next = c;
  } else {
    pended_head = c;
  }
  pended_tail = c;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  return 0;
}
