/*
 * rtos_cases.h — what the RTOS test program's files share.
 */
#ifndef RTOS_CASES_H
#define RTOS_CASES_H

#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmsis_os.h"

/* Set on a thread playing an interrupt handler (see mvnet_in_isr). */
extern _Thread_local int in_handler;
extern atomic_int failures;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
      fflush(stdout);                                                      \
      atomic_fetch_add(&failures, 1);                                      \
    }                                                                      \
  } while (0)

/* Milliseconds on the monotonic clock, independent of the RTOS tick. */
double now_ms(void);
void sleep_ms(int ms);
/* Prints PASS if nothing failed and exits 0, else exits 1. */
void finish(const char *name);
/* Runs fn(arg) on a plain pthread marked as interrupt context and waits for
 * it: the shape of libmvnet's interrupt thread calling a handler. */
void run_as_handler(void *(*fn)(void *), void *arg);
/* WAIT_UNTIL(cond) polls cond every millisecond until it holds or
 * WAIT_LIMIT_MS have passed; CHECK(cond) afterwards. The limit only ends a
 * hung case: it is generous so that a loaded machine never reaches it, and
 * no check here bounds how long anything took from above (only lower
 * bounds the RTOS guarantees, e.g. osDelay(n) waits at least n ms). */
#define WAIT_LIMIT_MS 30000.0
#define WAIT_UNTIL(cond)                                      \
  do {                                                        \
    double wait_until_end_ = now_ms() + WAIT_LIMIT_MS;        \
    while (!(cond) && now_ms() < wait_until_end_) {           \
      sleep_ms(1);                                            \
    }                                                         \
  } while (0)
/* WAIT_UNTIL(*flag != 0). */
void wait_for(atomic_int *flag);

/* rtos_objects.c */
void case_queue_isr(void);
void case_queue_timeout(void);
void case_mutex(void);
void case_semaphore(void);
void case_eventflags(void);

#endif /* RTOS_CASES_H */
