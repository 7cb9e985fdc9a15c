//go:build ignore

/*
 * freertos_timers.c — FreeRTOS's software timers (timers.h) and event groups
 * (event_groups.h) on the host RTOS's timers and event flags.
 *
 * Timer commands act at once instead of going through a command queue, so
 * they never wait and xTicksToWait is not needed. Event groups follow
 * FreeRTOS's release-then-clear rule (rtos_eventflags.c); their 24 usable
 * bits (configUSE_16_BIT_TICKS 0) are not enforced beyond CMSIS's 31.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include "rtos_internal.h"
#include "task.h"
#include "timers.h"
#include "event_groups.h"

/* ---- Timers --------------------------------------------------------------------- */

TimerHandle_t xTimerCreate(const char *const pcTimerName, const TickType_t xTimerPeriodInTicks,
                           const UBaseType_t uxAutoReload, void *const pvTimerID,
                           TimerCallbackFunction_t pxCallbackFunction) {
  if (MVNET_RTOS_IN_ISR()) {
    return NULL;
  }
  /* The callback takes the handle, which is the argument the timer passes. */
  return (TimerHandle_t)mvnet_rtos_timer_new(pcTimerName, xTimerPeriodInTicks, uxAutoReload != pdFALSE, pvTimerID,
                                             (void (*)(void *))(void (*)(void))pxCallbackFunction);
}

TimerHandle_t xTimerCreateStatic(const char *const pcTimerName, const TickType_t xTimerPeriodInTicks,
                                 const UBaseType_t uxAutoReload, void *const pvTimerID,
                                 TimerCallbackFunction_t pxCallbackFunction, StaticTimer_t *pxTimerBuffer) {
  if (pxTimerBuffer == NULL) {
    return NULL;
  }
  return xTimerCreate(pcTimerName, xTimerPeriodInTicks, uxAutoReload, pvTimerID, pxCallbackFunction);
}

BaseType_t xTimerGenericCommand(TimerHandle_t xTimer, const BaseType_t xCommandID, const TickType_t xOptionalValue,
                                BaseType_t *const pxHigherPriorityTaskWoken, const TickType_t xTicksToWait) {
  (void)pxHigherPriorityTaskWoken; /* nothing waits on a timer command */
  (void)xTicksToWait;
  osStatus_t st;
  switch (xCommandID) {
  case tmrCOMMAND_START:
  case tmrCOMMAND_START_DONT_TRACE:
  case tmrCOMMAND_RESET:
  case tmrCOMMAND_START_FROM_ISR:
  case tmrCOMMAND_RESET_FROM_ISR:
    /* xOptionalValue is the tick of the call: the period counts from now. */
    st = mvnet_rtos_timer_start(xTimer, 0U);
    break;
  case tmrCOMMAND_STOP:
  case tmrCOMMAND_STOP_FROM_ISR:
    st = mvnet_rtos_timer_stop(xTimer);
    if (st == osErrorResource) {
      st = osOK; /* stopping a dormant timer is not an error in FreeRTOS */
    }
    break;
  case tmrCOMMAND_CHANGE_PERIOD:
  case tmrCOMMAND_CHANGE_PERIOD_FROM_ISR:
    st = xOptionalValue == 0U ? osErrorParameter : mvnet_rtos_timer_start(xTimer, xOptionalValue);
    break;
  case tmrCOMMAND_DELETE: st = mvnet_rtos_timer_delete(xTimer); break;
  default: st = osErrorParameter; break;
  }
  return st == osOK ? pdPASS : pdFAIL;
}

static uintptr_t timer_field(TimerHandle_t xTimer, int which) {
  uintptr_t v = 0U;
  (void)mvnet_rtos_timer_get(xTimer, which, &v);
  return v;
}

void *pvTimerGetTimerID(const TimerHandle_t xTimer) {
  return (void *)timer_field(xTimer, MVNET_TIMER_ID);
}

void vTimerSetTimerID(TimerHandle_t xTimer, void *pvNewID) {
  (void)mvnet_rtos_timer_set(xTimer, MVNET_TIMER_ID, (uintptr_t)pvNewID);
}

BaseType_t xTimerIsTimerActive(TimerHandle_t xTimer) {
  return timer_field(xTimer, MVNET_TIMER_ACTIVE) != 0U ? pdTRUE : pdFALSE;
}

const char *pcTimerGetName(TimerHandle_t xTimer) {
  return osTimerGetName((osTimerId_t)xTimer);
}

TickType_t xTimerGetPeriod(TimerHandle_t xTimer) {
  return (TickType_t)timer_field(xTimer, MVNET_TIMER_PERIOD);
}

TickType_t xTimerGetExpiryTime(TimerHandle_t xTimer) {
  return (TickType_t)timer_field(xTimer, MVNET_TIMER_EXPIRY);
}

void vTimerSetReloadMode(TimerHandle_t xTimer, const UBaseType_t uxAutoReload) {
  (void)mvnet_rtos_timer_set(xTimer, MVNET_TIMER_RELOAD, uxAutoReload != pdFALSE);
}

UBaseType_t uxTimerGetReloadMode(TimerHandle_t xTimer) {
  return (UBaseType_t)timer_field(xTimer, MVNET_TIMER_RELOAD);
}

TaskHandle_t xTimerGetTimerDaemonTaskHandle(void) {
  return (TaskHandle_t)mvnet_rtos_timer_thread();
}

BaseType_t xTimerPendFunctionCall(PendedFunction_t xFunctionToPend, void *pvParameter1, uint32_t ulParameter2,
                                  TickType_t xTicksToWait) {
  (void)xTicksToWait; /* the call is queued at once: never a full queue */
  return mvnet_rtos_timer_pend(xFunctionToPend, pvParameter1, ulParameter2) == 0 ? pdPASS : pdFAIL;
}

BaseType_t xTimerPendFunctionCallFromISR(PendedFunction_t xFunctionToPend, void *pvParameter1, uint32_t ulParameter2,
                                         BaseType_t *pxHigherPriorityTaskWoken) {
  (void)pxHigherPriorityTaskWoken; /* the timer thread is not a task that waited */
  return mvnet_rtos_timer_pend(xFunctionToPend, pvParameter1, ulParameter2) == 0 ? pdPASS : pdFAIL;
}

/* ---- Event groups ------------------------------------------------------------------ */

EventGroupHandle_t xEventGroupCreate(void) {
  return MVNET_RTOS_IN_ISR() ? NULL : (EventGroupHandle_t)mvnet_rtos_group_new();
}

EventGroupHandle_t xEventGroupCreateStatic(StaticEventGroup_t *pxEventGroupBuffer) {
  return pxEventGroupBuffer != NULL ? xEventGroupCreate() : NULL;
}

EventBits_t xEventGroupWaitBits(EventGroupHandle_t xEventGroup, const EventBits_t uxBitsToWaitFor,
                                const BaseType_t xClearOnExit, const BaseType_t xWaitForAllBits,
                                TickType_t xTicksToWait) {
  if (MVNET_RTOS_IN_ISR()) {
    xTicksToWait = 0U; /* a handler cannot wait */
  }
  return mvnet_rtos_group_wait(xEventGroup, 0U, uxBitsToWaitFor, xClearOnExit != pdFALSE, xWaitForAllBits != pdFALSE,
                               xTicksToWait, NULL);
}

EventBits_t xEventGroupSync(EventGroupHandle_t xEventGroup, const EventBits_t uxBitsToSet,
                            const EventBits_t uxBitsToWaitFor, TickType_t xTicksToWait) {
  if (MVNET_RTOS_IN_ISR()) {
    xTicksToWait = 0U;
  }
  return mvnet_rtos_group_wait(xEventGroup, uxBitsToSet, uxBitsToWaitFor, 1, 1, xTicksToWait, NULL);
}

EventBits_t xEventGroupSetBits(EventGroupHandle_t xEventGroup, const EventBits_t uxBitsToSet) {
  return mvnet_rtos_group_set(xEventGroup, uxBitsToSet, NULL, NULL);
}

BaseType_t xEventGroupSetBitsFromISR(EventGroupHandle_t xEventGroup, const EventBits_t uxBitsToSet,
                                     BaseType_t *pxHigherPriorityTaskWoken) {
  int woke = 0, ok = 1;
  (void)mvnet_rtos_group_set(xEventGroup, uxBitsToSet, &woke, &ok);
  if (woke && pxHigherPriorityTaskWoken != NULL) {
    *pxHigherPriorityTaskWoken = pdTRUE;
  }
  return ok ? pdPASS : pdFAIL;
}

EventBits_t xEventGroupClearBits(EventGroupHandle_t xEventGroup, const EventBits_t uxBitsToClear) {
  uint32_t before = osEventFlagsClear((osEventFlagsId_t)xEventGroup, uxBitsToClear & ~osFlagsError);
  return (before & osFlagsError) != 0U ? 0U : before;
}

BaseType_t xEventGroupClearBitsFromISR(EventGroupHandle_t xEventGroup, const EventBits_t uxBitsToClear) {
  uint32_t before = osEventFlagsClear((osEventFlagsId_t)xEventGroup, uxBitsToClear & ~osFlagsError);
  return (before & osFlagsError) != 0U ? pdFAIL : pdPASS;
}

EventBits_t xEventGroupGetBitsFromISR(EventGroupHandle_t xEventGroup) {
  return osEventFlagsGet((osEventFlagsId_t)xEventGroup);
}

void vEventGroupDelete(EventGroupHandle_t xEventGroup) {
  (void)osEventFlagsDelete((osEventFlagsId_t)xEventGroup);
}
