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

/* The library's sources read the application's FreeRTOS settings through
 * mvnet_freertos_config and must not define it themselves. */
#define MVNET_FREERTOS_LIBRARY 1

#include "cmsis_os2.h"
#include "mvnet_host_clock.h" /* mvnet_mono_ns, mvnet_mono_cond_init */
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

uint64_t mvnet_rtos_uptime_ns(void); /* since process start (HAL's base when linked) */
void mvnet_rtos_ns_to_ts(uint64_t mono_ns, struct timespec *ts);
/* *ts = the monotonic instant `ticks` kernel ticks from now. */
void mvnet_rtos_deadline_in(struct timespec *ts, uint32_t ticks);

/* ---- Ticks ----------------------------------------------------------------
 * One kernel tick for CMSIS-RTOS2 and FreeRTOS alike, at the application's
 * configTICK_RATE_HZ (FreeRTOS.h defines mvnet_freertos_config in every file
 * that includes it), 1000 Hz when no file did. */
const mvnet_freertos_config_t *mvnet_rtos_config(void);
uint32_t mvnet_rtos_tick_hz(void);
uint64_t mvnet_rtos_ticks_to_ns(uint32_t ticks);
uint64_t mvnet_rtos_ns_to_ticks(uint64_t ns);
/* The tick count now (since process start). */
uint32_t mvnet_rtos_tick_now(void);
/* Sleeps until the monotonic instant `mono_ns`; a cancellation point, and
 * counted as blocked for osThreadGetState. */
void mvnet_rtos_sleep_until(uint64_t mono_ns);
/* Sleeps until the 64-bit tick count reaches `tick`, given the monotonic
 * time `mono` and the uptime `up` read together just before. */
void mvnet_rtos_sleep_until_tick(uint64_t tick, uint64_t mono, uint64_t up);
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
/* With o locked: whether a thread waits on o. */
int mvnet_rtos_obj_has_waiters(const mvnet_rtos_obj *o);

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

/* ---- What the FreeRTOS API adds to threads (rtos_thread.c) --------------- */

/* In osThreadAttr_t.attr_bits (a bit CMSIS leaves reserved), internal: the
 * thread is a FreeRTOS task (priority taken as given, even 0; the name cut
 * at configMAX_TASK_NAME_LEN). */
#define MVNET_RTOS_ATTR_FREERTOS 0x80000000U

/* xTaskCreate's thread: NULL on no memory or in an ISR. */
osThreadId_t mvnet_rtos_task_new(osThreadFunc_t func, void *arg, const char *name, uint32_t stack_bytes,
                                 int32_t priority);
int mvnet_rtos_thread_valid(osThreadId_t id);
/* FreeRTOS priorities are CMSIS's numbers (ST's wrapper maps one to one),
 * 0 to configMAX_PRIORITIES - 1. -1 for a bad or ended thread. */
int mvnet_rtos_thread_set_priority_raw(osThreadId_t id, int32_t priority);
int32_t mvnet_rtos_thread_priority_raw(osThreadId_t id);

/* vTaskSuspend: the thread stops at once if it is the caller, otherwise at
 * its next suspension point (delays and yields). Resume returns whether it
 * was suspended. */
int mvnet_rtos_thread_suspend(osThreadId_t id);
int mvnet_rtos_thread_resume(osThreadId_t id);
int mvnet_rtos_thread_is_suspended(osThreadId_t id);
void mvnet_rtos_suspension_point(void);

/* Notification actions, eNotifyAction's values. */
#define MVNET_NOTIFY_NONE 0
#define MVNET_NOTIFY_SET_BITS 1
#define MVNET_NOTIFY_INCREMENT 2
#define MVNET_NOTIFY_OVERWRITE 3
#define MVNET_NOTIFY_NO_OVERWRITE 4
/* 0, or -1 for a bad id or a refused no-overwrite; *woke = 1 if the thread
 * was waiting for a notification. */
int mvnet_rtos_notify(osThreadId_t id, uint32_t value, int action, uint32_t *previous, int *woke);
uint32_t mvnet_rtos_notify_take(int clear, uint32_t timeout);
/* 1 if a notification arrived (or was pending), 0 on timeout. */
int mvnet_rtos_notify_wait(uint32_t clear_on_entry, uint32_t clear_on_exit, uint32_t *value, uint32_t timeout);
/* With `before`: clears value bits and reports the value before. Without:
 * clears a pending notification. Returns whether one was pending. */
int mvnet_rtos_notify_clear(osThreadId_t id, uint32_t bits, uint32_t *before);

/* ---- Message queues as FreeRTOS uses them (rtos_msgqueue.c) -------------- */

/* Where a put goes: by msg_prio (CMSIS), at the back, at the front, or over
 * the newest message when full (xQueueOverwrite; never waits). */
#define MVNET_QUEUE_PRIO 0
#define MVNET_QUEUE_BACK 1
#define MVNET_QUEUE_FRONT 2
#define MVNET_QUEUE_OVERWRITE 3
/* A queue (osMessageQueueId_t); msg_size may be 0. NULL on no memory. */
void *mvnet_rtos_queue_new(uint32_t msg_count, uint32_t msg_size, const char *name);
/* No ISR checks: the callers make them. *woke (if given) is set to 1 when a
 * thread was waiting on the queue as it changed. */
osStatus_t mvnet_rtos_queue_put(void *q, const void *msg, int where, uint8_t msg_prio, uint32_t timeout, int *woke);
osStatus_t mvnet_rtos_queue_get(void *q, void *msg, uint8_t *msg_prio, int peek, uint32_t timeout, int *woke);
osStatus_t mvnet_rtos_queue_delete(void *q);

/* ---- Semaphores, mutexes, timers, event groups (FreeRTOS's rules) -------- */

/* rtos_sync.c. A semaphore (osSemaphoreId_t): NULL on bad counts. */
void *mvnet_rtos_sem_new(uint32_t max_count, uint32_t initial_count);
osStatus_t mvnet_rtos_sem_release(void *s, int *woke);
osStatus_t mvnet_rtos_sem_acquire(void *s, uint32_t timeout);
/* Mutex acquisition modes: CMSIS's, FreeRTOS's xSemaphoreTake (a holder that
 * takes again waits out its timeout), FreeRTOS's recursive take (a holder
 * nests whatever the mutex's attributes). */
#define MVNET_MUTEX_CMSIS 0
#define MVNET_MUTEX_TAKE 1
#define MVNET_MUTEX_RECURSIVE 2
osStatus_t mvnet_rtos_mutex_acquire(void *m, uint32_t timeout, int mode);
/* 1 if the mutex is free, 0 if held. */
uint32_t mvnet_rtos_mutex_free(void *m);

/* rtos_timer.c. A FreeRTOS timer: func is called with the timer's handle. */
void *mvnet_rtos_timer_new(const char *name, uint32_t period_ticks, int periodic, void *timer_id,
                           void (*func)(void *));
/* Starts (or restarts) the timer `period_ticks` from now; 0 keeps its period. */
osStatus_t mvnet_rtos_timer_start(void *t, uint32_t period_ticks);
osStatus_t mvnet_rtos_timer_stop(void *t);
osStatus_t mvnet_rtos_timer_delete(void *t);
/* Field access; `which` is one of MVNET_TIMER_*. */
#define MVNET_TIMER_ID 0
#define MVNET_TIMER_ACTIVE 1
#define MVNET_TIMER_PERIOD 2
#define MVNET_TIMER_EXPIRY 3
#define MVNET_TIMER_RELOAD 4
int mvnet_rtos_timer_get(void *t, int which, uintptr_t *value);
int mvnet_rtos_timer_set(void *t, int which, uintptr_t value);
/* Runs func(p1, p2) on the timer thread (xTimerPendFunctionCall); -1 on no
 * memory. Never waits, so it works from a handler. */
int mvnet_rtos_timer_pend(void (*func)(void *, uint32_t), void *p1, uint32_t p2);
/* The timer thread's id (NULL before the first timer). */
osThreadId_t mvnet_rtos_timer_thread(void);

/* rtos_eventflags.c / rtos_core.c. In a waiter's options (internal): a
 * FreeRTOS event-group waiter, whose bits are cleared after every waiter a
 * set satisfies has been released. */
#define MVNET_RTOS_WAIT_GROUP 0x100U
void *mvnet_rtos_group_new(void);
/* FreeRTOS's xEventGroupWaitBits / Sync / SetBits; the value returned is
 * FreeRTOS's. `ok` (if given) is 0 for a bad handle. */
uint32_t mvnet_rtos_group_wait(void *g, uint32_t set, uint32_t bits, int clear, int all, uint32_t timeout, int *ok);
uint32_t mvnet_rtos_group_set(void *g, uint32_t bits, int *woke, int *ok);

/* ---- Critical sections and the scheduler lock (freertos_port.c) ---------- */
/* The scheduler lock, one for vTaskSuspendAll and osKernelLock: recursive;
 * unlock by a thread that does not hold it does nothing. */
void mvnet_rtos_sched_lock(void);
void mvnet_rtos_sched_unlock(void);
/* How often the calling thread holds the scheduler lock (0: not at all). */
unsigned mvnet_rtos_sched_depth(void);
/* Whether some thread holds it (the kernel is then Locked). */
int mvnet_rtos_sched_held(void);

#endif /* MVNET_RTOS_INTERNAL_H */
