//go:build ignore

/*
 * rtos_thread.c — CMSIS-RTOS2 threads and thread flags on pthreads.
 *
 * Each osThreadNew makes a detached pthread that waits for osKernelStart and
 * then runs the thread function; returning from it is osThreadExit. Control
 * blocks are never freed, so an id stays safe to pass after its thread ends
 * (osThreadGetState reports osThreadTerminated).
 *
 * osThreadTerminate of another thread cancels its pthread (deferred): it
 * ends at its next RTOS wait or delay, or at a libc cancellation point such
 * as printf or sleep. A thread spinning without calling either keeps
 * running. Mutexes a terminating thread owns are released, as in RTX.
 *
 * Priorities are stored and reported but do not influence the host
 * scheduler. The stack size and memory in the attributes are not used: the
 * pthread gets the host's default stack.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _GNU_SOURCE /* pthread_setname_np, pthread_getattr_np */

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rtos_internal.h"

typedef struct mvnet_rtos_thread {
  /* The thread's flags: an object of its own so that waits work as for
   * event flags. flags_obj.mu guards `flags`. */
  mvnet_rtos_obj flags_obj;
  uint32_t flags;
  /* FreeRTOS's notification and suspension, also guarded by flags_obj.mu. */
  uint32_t notify_value;
  int notify_state; /* NOTIFY_* */
  int suspended;

  uint32_t magic; /* MVNET_RTOS_MAGIC_THREAD, never cleared */
  char *name;
  osThreadFunc_t func;
  void *arg;
  uint32_t stack_size;
  int internal;
  pthread_t pt;
  const void *token;
  atomic_int blocked;

  /* Guarded by mu (below): */
  osPriority_t priority;
  int terminated;
  int joinable;
  int joining;
  mvnet_rtos_mutex *owned; /* mutexes it owns */
  struct mvnet_rtos_thread *next;
} mvnet_rtos_thread;

/* mu guards the thread list, each thread's fields marked above and the
 * owned-mutex lists; cv announces terminations (for osThreadJoin). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static mvnet_rtos_thread *threads;

enum { NOTIFY_NONE, NOTIFY_WAITING, NOTIFY_RECEIVED };

static _Thread_local mvnet_rtos_thread *self;
static _Thread_local char token; /* its address identifies the thread */

const void *mvnet_rtos_thread_token(void) {
  return &token;
}

osThreadId_t mvnet_rtos_self(void) {
  return self;
}

void mvnet_rtos_thread_set_blocked(int blocked) {
  if (self != NULL) {
    atomic_fetch_add(&self->blocked, blocked ? 1 : -1);
  }
}

/* The thread for an id, or NULL if it is not one. */
static mvnet_rtos_thread *thread_of(osThreadId_t id) {
  mvnet_rtos_thread *t = id;
  return t != NULL && t->magic == MVNET_RTOS_MAGIC_THREAD ? t : NULL;
}

/* ---- Owned mutexes -------------------------------------------------------- */

void mvnet_rtos_owned_add(mvnet_rtos_mutex *m) {
  if (self == NULL) {
    return;
  }
  pthread_mutex_lock(&mu);
  m->owned_by = self;
  m->owned_prev = NULL;
  m->owned_next = self->owned;
  if (self->owned != NULL) {
    self->owned->owned_prev = m;
  }
  self->owned = m;
  pthread_mutex_unlock(&mu);
}

void mvnet_rtos_owned_remove(mvnet_rtos_mutex *m) {
  pthread_mutex_lock(&mu);
  mvnet_rtos_thread *t = m->owned_by;
  if (t != NULL) {
    if (m->owned_prev != NULL) {
      m->owned_prev->owned_next = m->owned_next;
    } else {
      t->owned = m->owned_next;
    }
    if (m->owned_next != NULL) {
      m->owned_next->owned_prev = m->owned_prev;
    }
    m->owned_by = NULL;
    m->owned_next = m->owned_prev = NULL;
  }
  pthread_mutex_unlock(&mu);
}

/* ---- Life cycle ----------------------------------------------------------- */

/* Runs as the thread ends: returned, osThreadExit, or cancelled. */
static void thread_finish(void *arg) {
  mvnet_rtos_thread *t = arg;
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);

  pthread_mutex_lock(&mu);
  mvnet_rtos_mutex *owned = t->owned;
  t->owned = NULL;
  for (mvnet_rtos_mutex *m = owned; m != NULL; m = m->owned_next) {
    m->owned_by = NULL;
  }
  pthread_mutex_unlock(&mu);
  /* Not under mu: releasing takes each mutex's lock (lock order). */
  while (owned != NULL) {
    mvnet_rtos_mutex *next = owned->owned_next;
    owned->owned_next = owned->owned_prev = NULL;
    mvnet_rtos_mutex_release_dead(owned, t->token);
    owned = next;
  }

  pthread_mutex_lock(&mu);
  t->terminated = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void *thread_main(void *arg) {
  mvnet_rtos_thread *t = arg;
  self = t;
  t->token = &token;
  if (t->name != NULL) {
    char short_name[16];
    strncpy(short_name, t->name, sizeof short_name - 1);
    short_name[sizeof short_name - 1] = '\0';
    pthread_setname_np(pthread_self(), short_name);
  }
  pthread_cleanup_push(thread_finish, t);
  mvnet_rtos_wait_kernel_running();
  t->func(t->arg);
  pthread_cleanup_pop(1);
  return NULL;
}

static mvnet_rtos_thread *thread_create(osThreadFunc_t func, void *arg, const char *name, int internal,
                                        const osThreadAttr_t *attr) {
  mvnet_rtos_thread *t = calloc(1, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  t->name = mvnet_rtos_strdup(name);
  if (name != NULL && t->name == NULL) {
    free(t);
    return NULL;
  }
  if (t->name != NULL && attr != NULL && (attr->attr_bits & MVNET_RTOS_ATTR_FREERTOS) != 0U) {
    /* FreeRTOS keeps configMAX_TASK_NAME_LEN - 1 characters of a name. */
    uint32_t max = mvnet_rtos_config()->max_task_name_len;
    if (max > 0U && strlen(t->name) >= max) {
      t->name[max - 1U] = '\0';
    }
  }
  mvnet_rtos_obj_init(&t->flags_obj, MVNET_RTOS_MAGIC_FLAGS, NULL);
  t->func = func;
  t->arg = arg;
  t->internal = internal;
  t->priority = osPriorityNormal;
  if (attr != NULL) {
    if (attr->priority != osPriorityNone || (attr->attr_bits & MVNET_RTOS_ATTR_FREERTOS) != 0U) {
      t->priority = attr->priority;
    }
    t->joinable = (attr->attr_bits & osThreadJoinable) != 0;
    t->stack_size = attr->stack_size;
  }
  atomic_init(&t->blocked, 0);
  t->magic = MVNET_RTOS_MAGIC_THREAD;

  pthread_attr_t pa;
  pthread_attr_init(&pa);
  pthread_attr_setdetachstate(&pa, PTHREAD_CREATE_DETACHED);
  if (t->stack_size == 0U) {
    size_t sz = 0;
    pthread_attr_getstacksize(&pa, &sz);
    t->stack_size = sz > UINT32_MAX ? UINT32_MAX : (uint32_t)sz;
  }
  pthread_mutex_lock(&mu);
  int rc = pthread_create(&t->pt, &pa, thread_main, t);
  if (rc == 0) {
    t->next = threads;
    threads = t;
  }
  pthread_mutex_unlock(&mu);
  pthread_attr_destroy(&pa);
  if (rc != 0) {
    free(t->name);
    free(t);
    return NULL;
  }
  return t;
}

osThreadId_t osThreadNew(osThreadFunc_t func, void *argument, const osThreadAttr_t *attr) {
  if (MVNET_RTOS_IN_ISR() || func == NULL) {
    return NULL;
  }
  if (attr != NULL && attr->priority != osPriorityNone &&
      (attr->priority < osPriorityIdle || attr->priority > osPriorityISR)) {
    return NULL;
  }
  mvnet_rtos_kernel_autoinit();
  return thread_create(func, argument, attr != NULL ? attr->name : NULL, 0, attr);
}

osThreadId_t mvnet_rtos_thread_new_internal(osThreadFunc_t func, void *arg, const char *name) {
  return thread_create(func, arg, name, 1, NULL);
}

osThreadId_t mvnet_rtos_task_new(osThreadFunc_t func, void *arg, const char *name, uint32_t stack_bytes,
                                 int32_t priority) {
  if (MVNET_RTOS_IN_ISR() || func == NULL) {
    return NULL;
  }
  osThreadAttr_t attr = {.name = name,
                         .attr_bits = MVNET_RTOS_ATTR_FREERTOS,
                         .stack_size = stack_bytes,
                         .priority = (osPriority_t)priority};
  mvnet_rtos_kernel_autoinit();
  return thread_create(func, arg, name, 0, &attr);
}

int mvnet_rtos_thread_valid(osThreadId_t id) {
  return thread_of(id) != NULL;
}

int mvnet_rtos_thread_set_priority_raw(osThreadId_t id, int32_t priority) {
  mvnet_rtos_thread *t = thread_of(id);
  if (t == NULL) {
    return -1;
  }
  pthread_mutex_lock(&mu);
  int rc = t->terminated ? -1 : 0;
  if (rc == 0) {
    t->priority = (osPriority_t)priority;
  }
  pthread_mutex_unlock(&mu);
  return rc;
}

int32_t mvnet_rtos_thread_priority_raw(osThreadId_t id) {
  mvnet_rtos_thread *t = thread_of(id);
  if (t == NULL) {
    return -1;
  }
  pthread_mutex_lock(&mu);
  int32_t p = (int32_t)t->priority;
  pthread_mutex_unlock(&mu);
  return p;
}

/* ---- Suspension (FreeRTOS vTaskSuspend/vTaskResume) ------------------------ */

/* With t->flags_obj.mu held: waits while t is suspended. */
static void suspended_wait(mvnet_rtos_thread *t) {
  if (!t->suspended) {
    return;
  }
  mvnet_rtos_waiter w = {0};
  mvnet_rtos_waiter_add(&t->flags_obj, &w);
  while (t->suspended) {
    mvnet_rtos_obj_wait(&t->flags_obj, &w, NULL);
  }
  mvnet_rtos_waiter_remove(&t->flags_obj, &w);
}

void mvnet_rtos_suspension_point(void) {
  if (self == NULL) {
    return;
  }
  mvnet_rtos_obj_lock(&self->flags_obj, MVNET_RTOS_MAGIC_FLAGS);
  suspended_wait(self);
  mvnet_rtos_obj_unlock(&self->flags_obj);
}

int mvnet_rtos_thread_suspend(osThreadId_t id) {
  mvnet_rtos_thread *t = thread_of(id);
  if (t == NULL || mvnet_rtos_obj_lock(&t->flags_obj, MVNET_RTOS_MAGIC_FLAGS) != 0) {
    return -1;
  }
  t->suspended = 1;
  if (t == self) {
    suspended_wait(t);
  }
  mvnet_rtos_obj_unlock(&t->flags_obj);
  return 0;
}

int mvnet_rtos_thread_resume(osThreadId_t id) {
  mvnet_rtos_thread *t = thread_of(id);
  if (t == NULL || mvnet_rtos_obj_lock(&t->flags_obj, MVNET_RTOS_MAGIC_FLAGS) != 0) {
    return 0;
  }
  int was = t->suspended;
  t->suspended = 0;
  mvnet_rtos_obj_broadcast(&t->flags_obj);
  mvnet_rtos_obj_unlock(&t->flags_obj);
  return was;
}

int mvnet_rtos_thread_is_suspended(osThreadId_t id) {
  mvnet_rtos_thread *t = thread_of(id);
  if (t == NULL || mvnet_rtos_obj_lock(&t->flags_obj, MVNET_RTOS_MAGIC_FLAGS) != 0) {
    return 0;
  }
  int s = t->suspended;
  mvnet_rtos_obj_unlock(&t->flags_obj);
  return s;
}

/* ---- Notifications (FreeRTOS's direct-to-task notifications) --------------- */

int mvnet_rtos_notify(osThreadId_t id, uint32_t value, int action, uint32_t *previous, int *woke) {
  mvnet_rtos_thread *t = thread_of(id);
  if (t == NULL || mvnet_rtos_obj_lock(&t->flags_obj, MVNET_RTOS_MAGIC_FLAGS) != 0) {
    return -1;
  }
  if (previous != NULL) {
    *previous = t->notify_value;
  }
  int old = t->notify_state;
  int rc = 0;
  switch (action) {
  case MVNET_NOTIFY_SET_BITS: t->notify_value |= value; break;
  case MVNET_NOTIFY_INCREMENT: t->notify_value++; break;
  case MVNET_NOTIFY_OVERWRITE: t->notify_value = value; break;
  case MVNET_NOTIFY_NO_OVERWRITE:
    if (old == NOTIFY_RECEIVED) {
      rc = -1; /* the previous value has not been read yet */
    } else {
      t->notify_value = value;
    }
    break;
  default: break; /* no action: only the state changes */
  }
  t->notify_state = NOTIFY_RECEIVED;
  if (old == NOTIFY_WAITING) {
    mvnet_rtos_obj_broadcast(&t->flags_obj);
    if (woke != NULL) {
      *woke = 1;
    }
  }
  mvnet_rtos_obj_unlock(&t->flags_obj);
  return rc;
}

/* With self->flags_obj.mu held: waits up to `timeout` ticks for a
 * notification. */
static void notify_wait(uint32_t timeout) {
  if (timeout == 0U || self->notify_state == NOTIFY_RECEIVED) {
    return;
  }
  self->notify_state = NOTIFY_WAITING;
  struct timespec deadline;
  if (timeout != osWaitForever) {
    mvnet_rtos_deadline_in(&deadline, timeout);
  }
  mvnet_rtos_waiter w = {0};
  mvnet_rtos_waiter_add(&self->flags_obj, &w);
  while (self->notify_state != NOTIFY_RECEIVED) {
    if (mvnet_rtos_obj_wait(&self->flags_obj, &w, timeout != osWaitForever ? &deadline : NULL) == ETIMEDOUT) {
      break;
    }
  }
  mvnet_rtos_waiter_remove(&self->flags_obj, &w);
}

uint32_t mvnet_rtos_notify_take(int clear, uint32_t timeout) {
  if (self == NULL) {
    return 0U;
  }
  mvnet_rtos_obj_lock(&self->flags_obj, MVNET_RTOS_MAGIC_FLAGS);
  if (self->notify_value == 0U) {
    notify_wait(timeout);
  }
  uint32_t v = self->notify_value;
  if (v != 0U) {
    self->notify_value = clear ? 0U : v - 1U;
  }
  self->notify_state = NOTIFY_NONE;
  mvnet_rtos_obj_unlock(&self->flags_obj);
  return v;
}

int mvnet_rtos_notify_wait(uint32_t clear_on_entry, uint32_t clear_on_exit, uint32_t *value, uint32_t timeout) {
  if (self == NULL) {
    return 0;
  }
  mvnet_rtos_obj_lock(&self->flags_obj, MVNET_RTOS_MAGIC_FLAGS);
  if (self->notify_state != NOTIFY_RECEIVED) {
    self->notify_value &= ~clear_on_entry;
    notify_wait(timeout);
  }
  if (value != NULL) {
    *value = self->notify_value;
  }
  int got = self->notify_state == NOTIFY_RECEIVED;
  if (got) {
    self->notify_value &= ~clear_on_exit;
  }
  self->notify_state = NOTIFY_NONE;
  mvnet_rtos_obj_unlock(&self->flags_obj);
  return got;
}

int mvnet_rtos_notify_clear(osThreadId_t id, uint32_t bits, uint32_t *before) {
  mvnet_rtos_thread *t = thread_of(id);
  if (t == NULL || mvnet_rtos_obj_lock(&t->flags_obj, MVNET_RTOS_MAGIC_FLAGS) != 0) {
    return 0;
  }
  int was = t->notify_state == NOTIFY_RECEIVED;
  if (before != NULL) {
    *before = t->notify_value;
    t->notify_value &= ~bits;
  } else if (was) {
    t->notify_state = NOTIFY_NONE;
  }
  mvnet_rtos_obj_unlock(&t->flags_obj);
  return was;
}

const char *osThreadGetName(osThreadId_t thread_id) {
  mvnet_rtos_thread *t = thread_of(thread_id);
  return t != NULL ? t->name : NULL;
}

osThreadId_t osThreadGetId(void) {
  return self;
}

osThreadState_t osThreadGetState(osThreadId_t thread_id) {
  mvnet_rtos_thread *t = thread_of(thread_id);
  if (MVNET_RTOS_IN_ISR() || t == NULL) {
    return osThreadError;
  }
  pthread_mutex_lock(&mu);
  int terminated = t->terminated;
  pthread_mutex_unlock(&mu);
  if (terminated) {
    return osThreadTerminated;
  }
  if (t == self) {
    return osThreadRunning;
  }
  return atomic_load(&t->blocked) > 0 ? osThreadBlocked : osThreadReady;
}

uint32_t osThreadGetStackSize(osThreadId_t thread_id) {
  mvnet_rtos_thread *t = thread_of(thread_id);
  return t != NULL && !MVNET_RTOS_IN_ISR() ? t->stack_size : 0U;
}

uint32_t osThreadGetStackSpace(osThreadId_t thread_id) {
  return osThreadGetStackSize(thread_id);
}

osStatus_t osThreadSetPriority(osThreadId_t thread_id, osPriority_t priority) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  mvnet_rtos_thread *t = thread_of(thread_id);
  if (t == NULL || priority < osPriorityIdle || priority > osPriorityISR) {
    return osErrorParameter;
  }
  osStatus_t st = osOK;
  pthread_mutex_lock(&mu);
  if (t->terminated) {
    st = osErrorResource;
  } else {
    t->priority = priority;
  }
  pthread_mutex_unlock(&mu);
  return st;
}

osPriority_t osThreadGetPriority(osThreadId_t thread_id) {
  mvnet_rtos_thread *t = thread_of(thread_id);
  if (MVNET_RTOS_IN_ISR() || t == NULL) {
    return osPriorityError;
  }
  pthread_mutex_lock(&mu);
  osPriority_t p = t->terminated ? osPriorityError : t->priority;
  pthread_mutex_unlock(&mu);
  return p;
}

osStatus_t osThreadYield(void) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  mvnet_rtos_suspension_point();
  pthread_testcancel();
  sched_yield();
  return osOK;
}

osStatus_t osThreadDetach(osThreadId_t thread_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  mvnet_rtos_thread *t = thread_of(thread_id);
  if (t == NULL) {
    return osErrorParameter;
  }
  osStatus_t st = osOK;
  pthread_mutex_lock(&mu);
  if (!t->joinable || t->joining) {
    st = osErrorResource;
  } else {
    t->joinable = 0;
  }
  pthread_mutex_unlock(&mu);
  return st;
}

static void unlock_mu(void *arg) {
  (void)arg;
  pthread_mutex_unlock(&mu);
}

osStatus_t osThreadJoin(osThreadId_t thread_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  mvnet_rtos_thread *t = thread_of(thread_id);
  if (t == NULL) {
    return osErrorParameter;
  }
  osStatus_t st = osOK;
  pthread_mutex_lock(&mu);
  if (t == self || !t->joinable || t->joining) {
    st = osErrorResource;
  } else {
    t->joining = 1;
    mvnet_rtos_thread_set_blocked(1);
    pthread_cleanup_push(unlock_mu, NULL);
    while (!t->terminated) {
      pthread_cond_wait(&cv, &mu);
    }
    pthread_cleanup_pop(0);
    mvnet_rtos_thread_set_blocked(0);
    t->joining = 0;
    t->joinable = 0; /* joined: a second join is an error, as in RTX */
  }
  pthread_mutex_unlock(&mu);
  return st;
}

void osThreadExit(void) {
  /* Runs thread_finish through the cleanup handler in thread_main. A thread
   * osThreadNew did not create (such as main) just ends. */
  pthread_exit(NULL);
}

osStatus_t osThreadTerminate(osThreadId_t thread_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  mvnet_rtos_thread *t = thread_of(thread_id);
  if (t == NULL) {
    return osErrorParameter;
  }
  if (t == self) {
    osThreadExit();
  }
  osStatus_t st = osOK;
  pthread_mutex_lock(&mu);
  /* Still before thread_finish's end while not terminated, so the pthread
   * exists and may be cancelled. */
  if (t->terminated) {
    st = osErrorResource;
  } else {
    pthread_cancel(t->pt);
  }
  pthread_mutex_unlock(&mu);
  return st;
}

uint32_t osThreadGetCount(void) {
  if (MVNET_RTOS_IN_ISR()) {
    return 0U;
  }
  uint32_t n = 0;
  pthread_mutex_lock(&mu);
  for (mvnet_rtos_thread *t = threads; t != NULL; t = t->next) {
    n += !t->terminated && !t->internal;
  }
  pthread_mutex_unlock(&mu);
  return n;
}

uint32_t osThreadEnumerate(osThreadId_t *thread_array, uint32_t array_items) {
  if (MVNET_RTOS_IN_ISR() || thread_array == NULL || array_items == 0U) {
    return 0U;
  }
  uint32_t n = 0;
  pthread_mutex_lock(&mu);
  for (mvnet_rtos_thread *t = threads; t != NULL && n < array_items; t = t->next) {
    if (!t->terminated && !t->internal) {
      thread_array[n++] = t;
    }
  }
  pthread_mutex_unlock(&mu);
  return n;
}

/* ---- Thread flags --------------------------------------------------------- */

uint32_t osThreadFlagsSet(osThreadId_t thread_id, uint32_t flags) {
  mvnet_rtos_thread *t = thread_of(thread_id);
  if (t == NULL || (flags & osFlagsError) != 0U) {
    return osFlagsErrorParameter;
  }
  if (mvnet_rtos_obj_lock(&t->flags_obj, MVNET_RTOS_MAGIC_FLAGS) != 0) {
    return osFlagsErrorParameter;
  }
  uint32_t now = mvnet_rtos_flags_set(&t->flags_obj, &t->flags, flags);
  mvnet_rtos_obj_unlock(&t->flags_obj);
  return now;
}

uint32_t osThreadFlagsClear(uint32_t flags) {
  if (MVNET_RTOS_IN_ISR()) {
    return osFlagsErrorISR;
  }
  if (self == NULL) {
    return osFlagsErrorUnknown;
  }
  if ((flags & osFlagsError) != 0U) {
    return osFlagsErrorParameter;
  }
  mvnet_rtos_obj_lock(&self->flags_obj, MVNET_RTOS_MAGIC_FLAGS);
  uint32_t before = self->flags;
  self->flags &= ~flags;
  mvnet_rtos_obj_unlock(&self->flags_obj);
  return before;
}

uint32_t osThreadFlagsGet(void) {
  if (MVNET_RTOS_IN_ISR() || self == NULL) {
    return 0U;
  }
  mvnet_rtos_obj_lock(&self->flags_obj, MVNET_RTOS_MAGIC_FLAGS);
  uint32_t v = self->flags;
  mvnet_rtos_obj_unlock(&self->flags_obj);
  return v;
}

uint32_t osThreadFlagsWait(uint32_t flags, uint32_t options, uint32_t timeout) {
  if (MVNET_RTOS_IN_ISR()) {
    return osFlagsErrorISR;
  }
  if (self == NULL) {
    return osFlagsErrorUnknown;
  }
  if (flags == 0U || (flags & osFlagsError) != 0U) {
    return osFlagsErrorParameter;
  }
  mvnet_rtos_obj_lock(&self->flags_obj, MVNET_RTOS_MAGIC_FLAGS);
  uint32_t r = mvnet_rtos_flags_wait(&self->flags_obj, &self->flags, flags, options, timeout);
  mvnet_rtos_obj_unlock(&self->flags_obj);
  return r;
}
