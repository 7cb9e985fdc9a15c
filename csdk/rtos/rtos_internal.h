/*
 * rtos_internal.h — internals shared by the CMSIS-RTOS2 stand-in's sources.
 *
 * Every RTOS object (queue, semaphore, mutex, event flags, a thread's flags)
 * starts with an mvnet_rtos_obj: one pthread mutex `mu` guarding the object,
 * one condition variable `cv` (CLOCK_MONOTONIC) broadcast on every change,
 * and the list of threads waiting on it. Waiters re-check their condition
 * after each wake-up, so one condition variable serves every kind of wait.
 * Waits are pthread cancellation points (osThreadTerminate cancels the
 * thread); a cancelled waiter leaves the list and unlocks `mu` on its way
 * out.
 */
#ifndef MVNET_RTOS_INTERNAL_H
#define MVNET_RTOS_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "cmsis_os2.h"
#include "mvnet_isr.h"

/* Object kinds, checked on every call so a wrong or deleted id is an
 * osErrorParameter rather than a crash (as far as the memory is still ours). */
#define MVNET_RTOS_MAGIC_THREAD 0x6d767468U /* "mvth" */
#define MVNET_RTOS_MAGIC_FLAGS 0x6d76666cU  /* "mvfl" (a thread's flags) */
#define MVNET_RTOS_MAGIC_QUEUE 0x6d766d71U  /* "mvmq" */
#define MVNET_RTOS_MAGIC_SEM 0x6d767365U    /* "mvse" */
#define MVNET_RTOS_MAGIC_MUTEX 0x6d766d75U  /* "mvmu" */
#define MVNET_RTOS_MAGIC_EVENT 0x6d766566U  /* "mvef" */
#define MVNET_RTOS_MAGIC_TIMER 0x6d76746dU  /* "mvtm" */

/* The sys timer runs at the core clock, as SysTick does on the device. */
#define MVNET_RTOS_SYSTIMER_HZ 160000000U

#define MVNET_RTOS_IN_ISR() (mvnet_in_isr() != 0)

/* ---- Time ---------------------------------------------------------------- */

uint64_t mvnet_rtos_mono_ns(void);   /* CLOCK_MONOTONIC now */
uint64_t mvnet_rtos_uptime_ns(void); /* since process start (HAL's base when linked) */
void mvnet_rtos_ns_to_ts(uint64_t mono_ns, struct timespec *ts);
/* *ts = the monotonic instant `ms` milliseconds from now. */
void mvnet_rtos_deadline_in(struct timespec *ts, uint32_t ms);
/* Initialises a condition variable that times out on CLOCK_MONOTONIC. */
void mvnet_rtos_cond_init(pthread_cond_t *cv);
/* Copies a name for an object (NULL stays NULL); NULL also on no memory. */
char *mvnet_rtos_strdup(const char *s);

/* ---- Objects and waiting ------------------------------------------------- */

typedef struct mvnet_rtos_waiter {
  struct mvnet_rtos_waiter *next, *prev;
  uint32_t flags, options; /* what a flags wait waits for */
  uint32_t result;         /* flags handed over by the setter */
  int done;                /* set (under mu) when the wait is satisfied */
} mvnet_rtos_waiter;

typedef struct mvnet_rtos_obj {
  uint32_t magic; /* MVNET_RTOS_MAGIC_*; 0 once deleted */
  char *name;
  pthread_mutex_t mu;
  /* Guarded by mu: */
  pthread_cond_t cv;
  mvnet_rtos_waiter *head, *tail; /* waiters in arrival order */
  int deleted;
} mvnet_rtos_obj;

void mvnet_rtos_obj_init(mvnet_rtos_obj *o, uint32_t magic, char *name);
/* Locks o if it is a live object of kind `magic`: 0 on success, -1 if not. */
int mvnet_rtos_obj_lock(mvnet_rtos_obj *o, uint32_t magic);
void mvnet_rtos_obj_unlock(mvnet_rtos_obj *o);
const char *mvnet_rtos_obj_name(const mvnet_rtos_obj *o, uint32_t magic);
void mvnet_rtos_obj_broadcast(mvnet_rtos_obj *o);

/* With o locked: joins / leaves the waiter list. Leaving a deleted object
 * wakes its deleter. */
void mvnet_rtos_waiter_add(mvnet_rtos_obj *o, mvnet_rtos_waiter *w);
void mvnet_rtos_waiter_remove(mvnet_rtos_obj *o, mvnet_rtos_waiter *w);
/* With o locked and w added: waits for a broadcast or the deadline (NULL:
 * none). Returns 0, or ETIMEDOUT once the deadline has passed. */
int mvnet_rtos_obj_wait(mvnet_rtos_obj *o, mvnet_rtos_waiter *w, const struct timespec *deadline);
/* With o locked: marks it deleted, wakes all waiters, waits until they have
 * left, unlocks and releases o's resources (not o itself). */
void mvnet_rtos_obj_delete(mvnet_rtos_obj *o);

/* ---- Flags (event flags and thread flags share the rules) ---------------- */

/* With o locked: sets bits, satisfies waiters in arrival order (consuming
 * their bits unless osFlagsNoClear) and returns the flags left after that. */
uint32_t mvnet_rtos_flags_set(mvnet_rtos_obj *o, uint32_t *value, uint32_t flags);
/* With o locked: the osEventFlagsWait rules; returns the flags as they were
 * before clearing, or an osFlagsError* code. */
uint32_t mvnet_rtos_flags_wait(mvnet_rtos_obj *o, uint32_t *value, uint32_t flags, uint32_t options,
                               uint32_t timeout);

/* ---- Kernel and threads -------------------------------------------------- */

/* Moves the kernel from Inactive to Ready if nobody has initialised it. */
void mvnet_rtos_kernel_autoinit(void);
/* Blocks until osKernelStart has run (a cancellation point). */
void mvnet_rtos_wait_kernel_running(void);

/* A mutex (rtos_sync.c). Its place in the owner's list is here so that a
 * terminating thread can release what it holds, as RTX does. */
typedef struct mvnet_rtos_mutex {
  mvnet_rtos_obj o;
  uint32_t attr_bits;
  /* Guarded by o.mu: */
  const void *owner;     /* owner's mvnet_rtos_thread_token(); NULL when free */
  osThreadId_t owner_id; /* owner's id (NULL if osThreadNew did not make it) */
  uint32_t count;        /* recursion depth */
  /* Guarded by the thread list's lock (rtos_thread.c): */
  void *owned_by; /* the struct mvnet_rtos_thread whose list holds it */
  struct mvnet_rtos_mutex *owned_next, *owned_prev;
} mvnet_rtos_mutex;

/* With m->o.mu held: records that the calling thread now owns m / that m's
 * owner no longer does (also used when m is deleted). Lock order: a mutex's
 * o.mu, then the thread list's lock — never the other way round. */
void mvnet_rtos_owned_add(mvnet_rtos_mutex *m);
void mvnet_rtos_owned_remove(mvnet_rtos_mutex *m);
/* Releases m if the thread with `token` owns it (called as it terminates). */
void mvnet_rtos_mutex_release_dead(mvnet_rtos_mutex *m, const void *token);
/* A token unique to the calling thread while it lives. */
const void *mvnet_rtos_thread_token(void);
/* The calling thread's id, or NULL if osThreadNew did not create it. */
osThreadId_t mvnet_rtos_self(void);
/* Internal threads (the timer thread) get an id so that RTOS calls work in
 * timer callbacks; they are not counted or enumerated. */
osThreadId_t mvnet_rtos_thread_new_internal(osThreadFunc_t func, void *arg, const char *name);

struct mvnet_rtos_thread;
/* Marks the calling os thread blocked while it waits (for osThreadGetState). */
void mvnet_rtos_thread_set_blocked(int blocked);

#endif /* MVNET_RTOS_INTERNAL_H */
