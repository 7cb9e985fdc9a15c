//go:build ignore

/*
 * freertos_task.c — FreeRTOS's task API (task.h) on the host RTOS's threads.
 *
 * A TaskHandle_t is the thread's osThreadId_t (ST's wrapper casts between
 * them), so every CMSIS-RTOS2 call works on tasks and every task call on
 * CMSIS threads. FreeRTOS priorities are CMSIS's numbers, as in the wrapper:
 * 0 (tskIDLE_PRIORITY) to configMAX_PRIORITIES - 1, larger ones capped as
 * FreeRTOS does. Ticks are the kernel's ticks at configTICK_RATE_HZ.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include "rtos_internal.h"
#include "task.h"
#include "timers.h"

/* Application hooks FreeRTOS calls as it starts the scheduler when
 * configSUPPORT_STATIC_ALLOCATION is 1: weak references, called only when
 * defined. Their buffers are not used on the host. */
extern void vApplicationGetIdleTaskMemory(StaticTask_t **tcb, StackType_t **stack, uint32_t *size)
    __attribute__((weak));
extern void vApplicationGetTimerTaskMemory(StaticTask_t **tcb, StackType_t **stack, uint32_t *size)
    __attribute__((weak));

static UBaseType_t cap_priority(UBaseType_t p) {
  UBaseType_t max = mvnet_rtos_config()->max_priorities;
  if (max == 0U) {
    max = 1U;
  }
  return p >= max ? max - 1U : p;
}

static osThreadId_t self_or(TaskHandle_t t) {
  return t != NULL ? (osThreadId_t)t : osThreadGetId();
}

/* ---- Creation and deletion --------------------------------------------------- */

BaseType_t xTaskCreate(TaskFunction_t pxTaskCode, const char *const pcName, const configSTACK_DEPTH_TYPE usStackDepth,
                       void *const pvParameters, UBaseType_t uxPriority, TaskHandle_t *const pxCreatedTask) {
  osThreadId_t id = mvnet_rtos_task_new(pxTaskCode, pvParameters, pcName,
                                        (uint32_t)usStackDepth * (uint32_t)sizeof(StackType_t),
                                        (int32_t)cap_priority(uxPriority));
  if (pxCreatedTask != NULL) {
    *pxCreatedTask = (TaskHandle_t)id;
  }
  return id != NULL ? pdPASS : errCOULD_NOT_ALLOCATE_REQUIRED_MEMORY;
}

TaskHandle_t xTaskCreateStatic(TaskFunction_t pxTaskCode, const char *const pcName, const uint32_t ulStackDepth,
                               void *const pvParameters, UBaseType_t uxPriority, StackType_t *const puxStackBuffer,
                               StaticTask_t *const pxTaskBuffer) {
  if (puxStackBuffer == NULL || pxTaskBuffer == NULL) {
    return NULL; /* FreeRTOS refuses to create without both buffers */
  }
  return (TaskHandle_t)mvnet_rtos_task_new(pxTaskCode, pvParameters, pcName,
                                           ulStackDepth * (uint32_t)sizeof(StackType_t),
                                           (int32_t)cap_priority(uxPriority));
}

void vTaskDelete(TaskHandle_t xTaskToDelete) {
  osThreadId_t id = self_or(xTaskToDelete);
  if (id == NULL || id == osThreadGetId()) {
    osThreadExit();
  }
  (void)osThreadTerminate(id);
}

/* ---- Delays and ticks ------------------------------------------------------- */

void vTaskDelay(const TickType_t xTicksToDelay) {
  if (xTicksToDelay == 0U) {
    vPortYield(); /* FreeRTOS: a delay of 0 is a yield */
    return;
  }
  (void)osDelay(xTicksToDelay);
}

BaseType_t xTaskDelayUntil(TickType_t *const pxPreviousWakeTime, const TickType_t xTimeIncrement) {
  if (pxPreviousWakeTime == NULL || MVNET_RTOS_IN_ISR()) {
    return pdFALSE;
  }
  mvnet_rtos_suspension_point();
  TickType_t prev = *pxPreviousWakeTime;
  TickType_t wake = prev + xTimeIncrement;
  *pxPreviousWakeTime = wake;
  /* Read the clock once: the tick now and the monotonic instant it maps to. */
  uint64_t mono = mvnet_mono_ns();
  uint64_t up = mvnet_rtos_uptime_ns();
  TickType_t now = (TickType_t)mvnet_rtos_ns_to_ticks(up);
  /* Past (or now) in the tick's wrapping space, as FreeRTOS decides it:
   * the wake time lies between the previous wake time and now. */
  TickType_t since_prev = now - prev;
  if (xTimeIncrement == 0U || since_prev >= xTimeIncrement) {
    return pdFALSE;
  }
  TickType_t ahead = wake - now;
  mvnet_rtos_sleep_until_tick(mvnet_rtos_ns_to_ticks(up) + ahead, mono, up);
  return pdTRUE;
}

void vTaskDelayUntil(TickType_t *const pxPreviousWakeTime, const TickType_t xTimeIncrement) {
  (void)xTaskDelayUntil(pxPreviousWakeTime, xTimeIncrement);
}

TickType_t xTaskGetTickCount(void) {
  return mvnet_rtos_tick_now();
}

TickType_t xTaskGetTickCountFromISR(void) {
  return mvnet_rtos_tick_now();
}

/* ---- Priorities, state, names ------------------------------------------------ */

UBaseType_t uxTaskPriorityGet(const TaskHandle_t xTask) {
  int32_t p = mvnet_rtos_thread_priority_raw(self_or(xTask));
  return p < 0 ? 0U : (UBaseType_t)p;
}

UBaseType_t uxTaskPriorityGetFromISR(const TaskHandle_t xTask) {
  return uxTaskPriorityGet(xTask);
}

void vTaskPrioritySet(TaskHandle_t xTask, UBaseType_t uxNewPriority) {
  (void)mvnet_rtos_thread_set_priority_raw(self_or(xTask), (int32_t)cap_priority(uxNewPriority));
}

eTaskState eTaskGetState(TaskHandle_t xTask) {
  if (xTask == NULL || !mvnet_rtos_thread_valid(xTask)) {
    return eInvalid;
  }
  if (mvnet_rtos_thread_is_suspended(xTask)) {
    return eSuspended;
  }
  switch (osThreadGetState(xTask)) {
  case osThreadRunning: return eRunning;
  case osThreadReady: return eReady;
  case osThreadBlocked: return eBlocked;
  case osThreadTerminated: return eDeleted;
  default: return eInvalid;
  }
}

void vTaskSuspend(TaskHandle_t xTaskToSuspend) {
  (void)mvnet_rtos_thread_suspend(self_or(xTaskToSuspend));
}

void vTaskResume(TaskHandle_t xTaskToResume) {
  (void)mvnet_rtos_thread_resume(xTaskToResume);
}

BaseType_t xTaskResumeFromISR(TaskHandle_t xTaskToResume) {
  return mvnet_rtos_thread_resume(xTaskToResume) ? pdTRUE : pdFALSE;
}

TaskHandle_t xTaskGetCurrentTaskHandle(void) {
  return (TaskHandle_t)osThreadGetId();
}

char *pcTaskGetName(TaskHandle_t xTaskToQuery) {
  return (char *)osThreadGetName(self_or(xTaskToQuery));
}

UBaseType_t uxTaskGetStackHighWaterMark(TaskHandle_t xTask) {
  /* No watermark on the host: the whole stack counts as never used, as
   * osThreadGetStackSpace reports it. In words, as FreeRTOS counts. */
  return (UBaseType_t)(osThreadGetStackSpace(self_or(xTask)) / sizeof(StackType_t));
}

UBaseType_t uxTaskGetNumberOfTasks(void) {
  return (UBaseType_t)osThreadGetCount();
}

/* ---- The scheduler ------------------------------------------------------------ */

void vTaskStartScheduler(void) {
  if (mvnet_rtos_config()->support_static_allocation) {
    StaticTask_t *tcb = NULL;
    StackType_t *stack = NULL;
    uint32_t size = 0U;
    if (vApplicationGetIdleTaskMemory != NULL) {
      vApplicationGetIdleTaskMemory(&tcb, &stack, &size);
    }
    if (mvnet_rtos_config()->use_timers && vApplicationGetTimerTaskMemory != NULL) {
      vApplicationGetTimerTaskMemory(&tcb, &stack, &size);
    }
  }
  mvnet_rtos_kernel_autoinit();
  (void)osKernelStart(); /* returns only if the kernel was already started */
}

void vTaskEndScheduler(void) {
  /* FreeRTOS's Cortex-M ports cannot end the scheduler either. */
}

/* Suspended only for the task that suspended it (and for handlers, which
 * on the device could interrupt it): the other tasks, which the device
 * would not be running, see it running. */
BaseType_t xTaskGetSchedulerState(void) {
  switch (osKernelGetState()) {
  case osKernelRunning: return taskSCHEDULER_RUNNING;
  case osKernelLocked:
    return mvnet_rtos_sched_depth() > 0U || MVNET_RTOS_IN_ISR() ? taskSCHEDULER_SUSPENDED : taskSCHEDULER_RUNNING;
  default: return taskSCHEDULER_NOT_STARTED;
  }
}

/* ---- Notifications ---------------------------------------------------------------- */

BaseType_t xTaskGenericNotify(TaskHandle_t xTaskToNotify, uint32_t ulValue, eNotifyAction eAction,
                              uint32_t *pulPreviousNotificationValue) {
  return mvnet_rtos_notify(xTaskToNotify, ulValue, (int)eAction, pulPreviousNotificationValue, NULL) == 0 ? pdPASS
                                                                                                        : pdFAIL;
}

BaseType_t xTaskGenericNotifyFromISR(TaskHandle_t xTaskToNotify, uint32_t ulValue, eNotifyAction eAction,
                                     uint32_t *pulPreviousNotificationValue, BaseType_t *pxHigherPriorityTaskWoken) {
  int woke = 0;
  int rc = mvnet_rtos_notify(xTaskToNotify, ulValue, (int)eAction, pulPreviousNotificationValue, &woke);
  if (woke && pxHigherPriorityTaskWoken != NULL) {
    *pxHigherPriorityTaskWoken = pdTRUE;
  }
  return rc == 0 ? pdPASS : pdFAIL;
}

void vTaskNotifyGiveFromISR(TaskHandle_t xTaskToNotify, BaseType_t *pxHigherPriorityTaskWoken) {
  (void)xTaskGenericNotifyFromISR(xTaskToNotify, 0U, eIncrement, NULL, pxHigherPriorityTaskWoken);
}

BaseType_t xTaskNotifyWait(uint32_t ulBitsToClearOnEntry, uint32_t ulBitsToClearOnExit,
                           uint32_t *pulNotificationValue, TickType_t xTicksToWait) {
  if (MVNET_RTOS_IN_ISR()) {
    return pdFALSE;
  }
  return mvnet_rtos_notify_wait(ulBitsToClearOnEntry, ulBitsToClearOnExit, pulNotificationValue, xTicksToWait)
             ? pdTRUE
             : pdFALSE;
}

uint32_t ulTaskNotifyTake(BaseType_t xClearCountOnExit, TickType_t xTicksToWait) {
  if (MVNET_RTOS_IN_ISR()) {
    return 0U;
  }
  return mvnet_rtos_notify_take(xClearCountOnExit != pdFALSE, xTicksToWait);
}

BaseType_t xTaskNotifyStateClear(TaskHandle_t xTask) {
  return mvnet_rtos_notify_clear(self_or(xTask), 0U, NULL) ? pdPASS : pdFAIL;
}

uint32_t ulTaskNotifyValueClear(TaskHandle_t xTask, uint32_t ulBitsToClear) {
  uint32_t before = 0U;
  (void)mvnet_rtos_notify_clear(self_or(xTask), ulBitsToClear, &before);
  return before;
}
