//go:build ignore

/*
 * freertos_port.c — what FreeRTOS's port layer and heap give applications:
 * critical sections, interrupt masking, yields, the scheduler lock and
 * pvPortMalloc.
 *
 * Critical sections. Tasks run in parallel on the host, so a critical
 * section cannot stop the others; it is one process-wide recursive lock
 * instead. taskENTER_CRITICAL takes the scheduler lock (vTaskSuspendAll's)
 * and then the critical lock; taskENTER_CRITICAL_FROM_ISR takes only the
 * critical lock. Always in that order, so they cannot deadlock: code inside
 * a critical section excludes every task and handler inside one, and a
 * suspended scheduler excludes the other tasks that suspend it or enter a
 * critical section. portDISABLE_INTERRUPTS masks libmvnet's interrupt thread
 * (__disable_irq) when libmvnet is linked.
 *
 * Heap. pvPortMalloc takes from the host's heap and counts against
 * configTOTAL_HEAP_SIZE, so xPortGetFreeHeapSize shrinks and grows as the
 * application allocates and frees; past the total it returns NULL and calls
 * vApplicationMallocFailedHook if configUSE_MALLOC_FAILED_HOOK is 1.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _GNU_SOURCE /* PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP */

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "rtos_internal.h"
#include "task.h"

/* libmvnet's interrupt masking; NULL when the RTOS is linked without it. */
extern void __disable_irq(void) __attribute__((weak));
extern void __enable_irq(void) __attribute__((weak));
/* Application hooks: weak references, called only when defined. */
extern void vApplicationMallocFailedHook(void) __attribute__((weak));

/* ---- Locks ------------------------------------------------------------------ */

static pthread_mutex_t sched_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t crit_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static _Thread_local unsigned sched_depth;

void mvnet_rtos_sched_lock(void) {
  pthread_mutex_lock(&sched_mu);
  if (sched_depth++ == 0U) {
    (void)osKernelLock(); /* reported as Locked; refused before the start */
  }
}

void mvnet_rtos_sched_unlock(void) {
  if (sched_depth == 0U) {
    return; /* not suspended by this thread */
  }
  if (--sched_depth == 0U) {
    (void)osKernelUnlock();
  }
  pthread_mutex_unlock(&sched_mu);
}

void vTaskSuspendAll(void) {
  mvnet_rtos_sched_lock();
}

BaseType_t xTaskResumeAll(void) {
  mvnet_rtos_sched_unlock();
  return pdFALSE; /* no yield was needed: threads were never held back */
}

void vPortEnterCritical(void) {
  if (MVNET_RTOS_IN_ISR()) {
    pthread_mutex_lock(&crit_mu);
    return;
  }
  mvnet_rtos_sched_lock();
  pthread_mutex_lock(&crit_mu);
}

void vPortExitCritical(void) {
  pthread_mutex_unlock(&crit_mu);
  if (!MVNET_RTOS_IN_ISR()) {
    mvnet_rtos_sched_unlock();
  }
}

uint32_t ulSetInterruptMask(void) {
  pthread_mutex_lock(&crit_mu);
  return 0U;
}

void vClearInterruptMask(uint32_t ulMask) {
  (void)ulMask;
  pthread_mutex_unlock(&crit_mu);
}

void vPortDisableInterrupts(void) {
  if (__disable_irq != NULL) {
    __disable_irq();
  }
}

void vPortEnableInterrupts(void) {
  if (__enable_irq != NULL) {
    __enable_irq();
  }
}

void vPortYield(void) {
  if (MVNET_RTOS_IN_ISR()) {
    return; /* portYIELD_FROM_ISR: the woken task already runs */
  }
  mvnet_rtos_suspension_point();
  pthread_testcancel();
  sched_yield();
}

/* The host's tick is the monotonic clock: nothing to do in these. */
void vPortSVCHandler(void) {
}

void xPortPendSVHandler(void) {
}

void xPortSysTickHandler(void) {
}

/* ---- Heap ------------------------------------------------------------------ */

/* Each block carries its size ahead of the caller's bytes. */
#define HEAP_HEADER 16U

static atomic_size_t heap_used;
static atomic_size_t heap_peak;

void *pvPortMalloc(size_t xWantedSize) {
  size_t total = mvnet_rtos_config()->total_heap_size;
  size_t want = xWantedSize + HEAP_HEADER;
  void *p = NULL;
  if (xWantedSize > 0U && want > xWantedSize) {
    size_t used = atomic_load(&heap_used);
    while (want <= total && used <= total - want) {
      if (atomic_compare_exchange_weak(&heap_used, &used, used + want)) {
        p = malloc(want);
        if (p == NULL) {
          atomic_fetch_sub(&heap_used, want);
        }
        break;
      }
    }
  }
  if (p == NULL) {
    if (xWantedSize > 0U && mvnet_rtos_config()->use_malloc_failed_hook && vApplicationMallocFailedHook != NULL) {
      vApplicationMallocFailedHook();
    }
    return NULL;
  }
  size_t now = atomic_load(&heap_used);
  size_t peak = atomic_load(&heap_peak);
  while (now > peak && !atomic_compare_exchange_weak(&heap_peak, &peak, now)) {
  }
  *(size_t *)p = want;
  return (char *)p + HEAP_HEADER;
}

void vPortFree(void *pv) {
  if (pv == NULL) {
    return;
  }
  char *p = (char *)pv - HEAP_HEADER;
  atomic_fetch_sub(&heap_used, *(size_t *)(void *)p);
  free(p);
}

size_t xPortGetFreeHeapSize(void) {
  size_t total = mvnet_rtos_config()->total_heap_size;
  size_t used = atomic_load(&heap_used);
  return used < total ? total - used : 0U;
}

size_t xPortGetMinimumEverFreeHeapSize(void) {
  size_t total = mvnet_rtos_config()->total_heap_size;
  size_t peak = atomic_load(&heap_peak);
  return peak < total ? total - peak : 0U;
}
