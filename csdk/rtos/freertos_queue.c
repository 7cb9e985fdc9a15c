//go:build ignore

/*
 * freertos_queue.c — FreeRTOS's queues, semaphores and mutexes (queue.h,
 * semphr.h) on the host RTOS's objects.
 *
 * In FreeRTOS all three are queues and share one handle type; here a
 * QueueHandle_t is an osMessageQueueId_t, osSemaphoreId_t or osMutexId_t as
 * ST's wrapper creates them, and each call dispatches on the object's kind.
 * FromISR calls never wait and report a woken task through
 * *pxHigherPriorityTaskWoken. Blocking calls from a handler fail (pdFAIL),
 * as FreeRTOS's asserts would stop them.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include "rtos_internal.h"
#include "task.h"
#include "queue.h"

/* The kind of object behind a handle: its first word (every object starts
 * with an mvnet_rtos_obj, whose first field is the magic). 0 for NULL. */
static uint32_t kind(const void *h) {
  return h != NULL ? ((const mvnet_rtos_obj *)h)->magic : 0U;
}

static void report_woken(int woke, BaseType_t *pxHigherPriorityTaskWoken) {
  if (woke && pxHigherPriorityTaskWoken != NULL) {
    *pxHigherPriorityTaskWoken = pdTRUE;
  }
}

/* ---- Creation ----------------------------------------------------------------- */

QueueHandle_t xQueueGenericCreate(const UBaseType_t uxQueueLength, const UBaseType_t uxItemSize,
                                  const uint8_t ucQueueType) {
  if (MVNET_RTOS_IN_ISR() || uxQueueLength == 0U || uxQueueLength > UINT32_MAX || uxItemSize > UINT32_MAX) {
    return NULL;
  }
  if (ucQueueType == queueQUEUE_TYPE_BINARY_SEMAPHORE) {
    return (QueueHandle_t)mvnet_rtos_sem_new(1U, 0U); /* created empty */
  }
  return (QueueHandle_t)mvnet_rtos_queue_new((uint32_t)uxQueueLength, (uint32_t)uxItemSize, NULL);
}

QueueHandle_t xQueueGenericCreateStatic(const UBaseType_t uxQueueLength, const UBaseType_t uxItemSize,
                                        uint8_t *pucQueueStorage, StaticQueue_t *pxStaticQueue,
                                        const uint8_t ucQueueType) {
  (void)pucQueueStorage;
  if (pxStaticQueue == NULL) {
    return NULL;
  }
  return xQueueGenericCreate(uxQueueLength, uxItemSize, ucQueueType);
}

QueueHandle_t xQueueCreateMutex(const uint8_t ucQueueType) {
  if (MVNET_RTOS_IN_ISR()) {
    return NULL;
  }
  osMutexAttr_t attr = {.attr_bits = ucQueueType == queueQUEUE_TYPE_RECURSIVE_MUTEX ? osMutexRecursive : 0U};
  return (QueueHandle_t)osMutexNew(&attr);
}

QueueHandle_t xQueueCreateMutexStatic(const uint8_t ucQueueType, StaticQueue_t *pxStaticQueue) {
  return pxStaticQueue != NULL ? xQueueCreateMutex(ucQueueType) : NULL;
}

QueueHandle_t xQueueCreateCountingSemaphore(const UBaseType_t uxMaxCount, const UBaseType_t uxInitialCount) {
  if (MVNET_RTOS_IN_ISR() || uxMaxCount > UINT32_MAX) {
    return NULL;
  }
  return (QueueHandle_t)mvnet_rtos_sem_new((uint32_t)uxMaxCount, (uint32_t)uxInitialCount);
}

QueueHandle_t xQueueCreateCountingSemaphoreStatic(const UBaseType_t uxMaxCount, const UBaseType_t uxInitialCount,
                                                  StaticQueue_t *pxStaticQueue) {
  return pxStaticQueue != NULL ? xQueueCreateCountingSemaphore(uxMaxCount, uxInitialCount) : NULL;
}

/* ---- Sending (and giving) ------------------------------------------------------- */

static int where(BaseType_t xCopyPosition) {
  switch (xCopyPosition) {
  case queueSEND_TO_FRONT: return MVNET_QUEUE_FRONT;
  case queueOVERWRITE: return MVNET_QUEUE_OVERWRITE;
  default: return MVNET_QUEUE_BACK;
  }
}

/* Send, or give for a semaphore or mutex; `isr`: never wait. */
static BaseType_t send(QueueHandle_t xQueue, const void *item, TickType_t ticks, BaseType_t pos, int *woke) {
  switch (kind(xQueue)) {
  case MVNET_RTOS_MAGIC_QUEUE:
    return mvnet_rtos_queue_put(xQueue, item, where(pos), 0U, ticks, woke) == osOK ? pdPASS : errQUEUE_FULL;
  case MVNET_RTOS_MAGIC_SEM: return mvnet_rtos_sem_release(xQueue, woke) == osOK ? pdPASS : errQUEUE_FULL;
  case MVNET_RTOS_MAGIC_MUTEX:
    /* Only the holder gives a mutex back (FreeRTOS fails the give otherwise). */
    return !MVNET_RTOS_IN_ISR() && osMutexRelease((osMutexId_t)xQueue) == osOK ? pdPASS : pdFAIL;
  default: return pdFAIL;
  }
}

BaseType_t xQueueGenericSend(QueueHandle_t xQueue, const void *const pvItemToQueue, TickType_t xTicksToWait,
                             const BaseType_t xCopyPosition) {
  if (MVNET_RTOS_IN_ISR() && xTicksToWait != 0U) {
    return pdFAIL;
  }
  return send(xQueue, pvItemToQueue, xTicksToWait, xCopyPosition, NULL);
}

BaseType_t xQueueGenericSendFromISR(QueueHandle_t xQueue, const void *const pvItemToQueue,
                                    BaseType_t *const pxHigherPriorityTaskWoken, const BaseType_t xCopyPosition) {
  int woke = 0;
  BaseType_t r = send(xQueue, pvItemToQueue, 0U, xCopyPosition, &woke);
  report_woken(woke, pxHigherPriorityTaskWoken);
  return r;
}

BaseType_t xQueueGiveFromISR(QueueHandle_t xQueue, BaseType_t *const pxHigherPriorityTaskWoken) {
  return xQueueGenericSendFromISR(xQueue, NULL, pxHigherPriorityTaskWoken, queueSEND_TO_BACK);
}

/* ---- Receiving (and taking) ------------------------------------------------------ */

static BaseType_t receive(QueueHandle_t xQueue, void *buf, int peek, TickType_t ticks, int *woke) {
  switch (kind(xQueue)) {
  case MVNET_RTOS_MAGIC_QUEUE:
    return mvnet_rtos_queue_get(xQueue, buf, NULL, peek, ticks, woke) == osOK ? pdPASS : errQUEUE_EMPTY;
  case MVNET_RTOS_MAGIC_SEM:
    if (peek) {
      return osSemaphoreGetCount((osSemaphoreId_t)xQueue) > 0U ? pdPASS : errQUEUE_EMPTY;
    }
    return mvnet_rtos_sem_acquire(xQueue, ticks) == osOK ? pdPASS : errQUEUE_EMPTY;
  case MVNET_RTOS_MAGIC_MUTEX:
    if (MVNET_RTOS_IN_ISR() || peek) {
      return pdFAIL;
    }
    return mvnet_rtos_mutex_acquire(xQueue, ticks, MVNET_MUTEX_TAKE) == osOK ? pdPASS : pdFAIL;
  default: return pdFAIL;
  }
}

BaseType_t xQueueReceive(QueueHandle_t xQueue, void *const pvBuffer, TickType_t xTicksToWait) {
  if (MVNET_RTOS_IN_ISR() && xTicksToWait != 0U) {
    return pdFAIL;
  }
  return receive(xQueue, pvBuffer, 0, xTicksToWait, NULL);
}

BaseType_t xQueuePeek(QueueHandle_t xQueue, void *const pvBuffer, TickType_t xTicksToWait) {
  if (MVNET_RTOS_IN_ISR() && xTicksToWait != 0U) {
    return pdFAIL;
  }
  return receive(xQueue, pvBuffer, 1, xTicksToWait, NULL);
}

BaseType_t xQueueSemaphoreTake(QueueHandle_t xQueue, TickType_t xTicksToWait) {
  return xQueueReceive(xQueue, NULL, xTicksToWait);
}

BaseType_t xQueueReceiveFromISR(QueueHandle_t xQueue, void *const pvBuffer, BaseType_t *const pxHigherPriorityTaskWoken) {
  int woke = 0;
  BaseType_t r = receive(xQueue, pvBuffer, 0, 0U, &woke);
  report_woken(woke, pxHigherPriorityTaskWoken);
  return r;
}

BaseType_t xQueuePeekFromISR(QueueHandle_t xQueue, void *const pvBuffer) {
  return receive(xQueue, pvBuffer, 1, 0U, NULL);
}

BaseType_t xQueueTakeMutexRecursive(QueueHandle_t xMutex, TickType_t xTicksToWait) {
  if (MVNET_RTOS_IN_ISR() || kind(xMutex) != MVNET_RTOS_MAGIC_MUTEX) {
    return pdFAIL;
  }
  return mvnet_rtos_mutex_acquire(xMutex, xTicksToWait, MVNET_MUTEX_RECURSIVE) == osOK ? pdPASS : pdFAIL;
}

BaseType_t xQueueGiveMutexRecursive(QueueHandle_t xMutex) {
  if (MVNET_RTOS_IN_ISR() || kind(xMutex) != MVNET_RTOS_MAGIC_MUTEX) {
    return pdFAIL;
  }
  return osMutexRelease((osMutexId_t)xMutex) == osOK ? pdPASS : pdFAIL;
}

struct tskTaskControlBlock *xQueueGetMutexHolder(QueueHandle_t xSemaphore) {
  if (kind(xSemaphore) != MVNET_RTOS_MAGIC_MUTEX) {
    return NULL;
  }
  return (struct tskTaskControlBlock *)osMutexGetOwner((osMutexId_t)xSemaphore);
}

struct tskTaskControlBlock *xQueueGetMutexHolderFromISR(QueueHandle_t xSemaphore) {
  return xQueueGetMutexHolder(xSemaphore);
}

/* ---- Inspection, reset, deletion ---------------------------------------------------- */

UBaseType_t uxQueueMessagesWaiting(const QueueHandle_t xQueue) {
  switch (kind(xQueue)) {
  case MVNET_RTOS_MAGIC_QUEUE: return osMessageQueueGetCount((osMessageQueueId_t)xQueue);
  case MVNET_RTOS_MAGIC_SEM: return osSemaphoreGetCount((osSemaphoreId_t)xQueue);
  case MVNET_RTOS_MAGIC_MUTEX: return mvnet_rtos_mutex_free(xQueue);
  default: return 0U;
  }
}

UBaseType_t uxQueueMessagesWaitingFromISR(const QueueHandle_t xQueue) {
  return uxQueueMessagesWaiting(xQueue);
}

UBaseType_t uxQueueSpacesAvailable(const QueueHandle_t xQueue) {
  return kind(xQueue) == MVNET_RTOS_MAGIC_QUEUE ? osMessageQueueGetSpace((osMessageQueueId_t)xQueue) : 0U;
}

BaseType_t xQueueIsQueueEmptyFromISR(const QueueHandle_t xQueue) {
  return uxQueueMessagesWaiting(xQueue) == 0U ? pdTRUE : pdFALSE;
}

BaseType_t xQueueIsQueueFullFromISR(const QueueHandle_t xQueue) {
  return kind(xQueue) == MVNET_RTOS_MAGIC_QUEUE && osMessageQueueGetSpace((osMessageQueueId_t)xQueue) == 0U ? pdTRUE
                                                                                                               : pdFALSE;
}

BaseType_t xQueueGenericReset(QueueHandle_t xQueue, BaseType_t xNewQueue) {
  (void)xNewQueue;
  if (kind(xQueue) != MVNET_RTOS_MAGIC_QUEUE) {
    return pdFAIL;
  }
  return osMessageQueueReset((osMessageQueueId_t)xQueue) == osOK ? pdPASS : pdFAIL;
}

void vQueueDelete(QueueHandle_t xQueue) {
  switch (kind(xQueue)) {
  case MVNET_RTOS_MAGIC_QUEUE: (void)mvnet_rtos_queue_delete(xQueue); break;
  case MVNET_RTOS_MAGIC_SEM: (void)osSemaphoreDelete((osSemaphoreId_t)xQueue); break;
  case MVNET_RTOS_MAGIC_MUTEX: (void)osMutexDelete((osMutexId_t)xQueue); break;
  default: break;
  }
}

void vQueueAddToRegistry(QueueHandle_t xQueue, const char *pcQueueName) {
  (void)xQueue;
  (void)pcQueueName;
}

void vQueueUnregisterQueue(QueueHandle_t xQueue) {
  (void)xQueue;
}
