//go:build ignore

/*
 * freertos_port.c — what FreeRTOS's port layer and heap give applications:
 * critical sections, interrupt masking, yields, the scheduler lock and
 * pvPortMalloc.
 *
 * Critical sections. On the device taskENTER_CRITICAL masks interrupts, so
 * no handler runs inside one, and only one task runs at a time. Here tasks
 * run in parallel, so a task-level critical section (taskENTER_CRITICAL, or
 * taskENTER_CRITICAL_FROM_ISR called by a task) is, in this order: the
 * scheduler lock (vTaskSuspendAll's; taskENTER_CRITICAL only), then
 * libmvnet's counted interrupt mask (mvnet_irq_mask_enter: no handler
 * starts, and a running one is waited for while no lock a handler could
 * want is held), then the critical lock. A handler's
 * taskENTER_CRITICAL_FROM_ISR takes only the critical lock. So a handler
 * never runs inside a task's critical section, and one waiting for the
 * critical lock cannot deadlock a task that disables its IRQ inside one
 * (no handler runs there). portDISABLE_INTERRUPTS masks libmvnet's
 * interrupt thread (__disable_irq). Without libmvnet (the RTOS's own
 * tests) there are no handlers and no masking.
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
extern void mvnet_irq_mask_enter(void) __attribute__((weak));
extern void mvnet_irq_mask_exit(void) __attribute__((weak));
/* Application hooks: weak references, called only when defined. */
extern void vApplicationMallocFailedHook(void) __attribute__((weak));

/* ---- Locks ------------------------------------------------------------------ */

/* sched_mu is the scheduler lock: vTaskSuspendAll and osKernelLock take it,
 * recursively; sched_held says whether some thread holds it (the kernel is
 * then Locked), sched_depth how often the calling thread took it. */
static pthread_mutex_t sched_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t crit_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static atomic_int sched_held;
static _Thread_local unsigned sched_depth;

void mvnet_rtos_sched_lock(void) {
  pthread_mutex_lock(&sched_mu);
  if (sched_depth++ == 0U) {
    atomic_store(&sched_held, 1);
  }
}

void mvnet_rtos_sched_unlock(void) {
  if (sched_depth == 0U) {
    return; /* not suspended by this thread */
  }
  if (--sched_depth == 0U) {
    atomic_store(&sched_held, 0);
  }
  pthread_mutex_unlock(&sched_mu);
}

unsigned mvnet_rtos_sched_depth(void) {
  return sched_depth;
}

int mvnet_rtos_sched_held(void) {
  return atomic_load(&sched_held);
}

void vTaskSuspendAll(void) {
  mvnet_rtos_sched_lock();
}

BaseType_t xTaskResumeAll(void) {
  mvnet_rtos_sched_unlock();
  return pdFALSE; /* no yield was needed: threads were never held back */
}

/* The interrupt mask of a task-level critical section (see the top). */
static void mask_enter(void) {
  if (mvnet_irq_mask_enter != NULL) {
    mvnet_irq_mask_enter();
  }
}

static void mask_exit(void) {
  if (mvnet_irq_mask_exit != NULL) {
    mvnet_irq_mask_exit();
  }
}

void vPortEnterCritical(void) {
  if (MVNET_RTOS_IN_ISR()) {
    pthread_mutex_lock(&crit_mu);
    return;
  }
  mvnet_rtos_sched_lock();
  mask_enter();
  pthread_mutex_lock(&crit_mu);
}

void vPortExitCritical(void) {
  pthread_mutex_unlock(&crit_mu);
  if (!MVNET_RTOS_IN_ISR()) {
    mask_exit();
    mvnet_rtos_sched_unlock();
  }
}

uint32_t ulSetInterruptMask(void) {
  if (!MVNET_RTOS_IN_ISR()) {
    mask_enter();
  }
  pthread_mutex_lock(&crit_mu);
  return 0U;
}

void vClearInterruptMask(uint32_t ulMask) {
  (void)ulMask;
  pthread_mutex_unlock(&crit_mu);
  if (!MVNET_RTOS_IN_ISR()) {
    mask_exit();
  }
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
