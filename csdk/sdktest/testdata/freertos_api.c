/*
 * FreeRTOS's native API on libmvnet, with the FreeRTOSConfig.h of
 * csdk/rtos/testdata/freertos (tick 500 Hz, 7 priorities, 4 KiB heap,
 * 8-character names, static allocation, malloc-failed hook). One task runs
 * the checks in order after vTaskStartScheduler; TIM2's handler exercises
 * the FromISR calls while tasks wait on the objects it signals. Prints
 * "failures=N" and exits with N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "FreeRTOS.h"
#include "cmsis_os2.h"
#include "event_groups.h"
#include "mvnet.h"
#include "queue.h"
#include "semphr.h"
#include "stm32u5xx_hal.h"
#include "task.h"
#include "timers.h"

static int failures;
#define CHECK(cond)                                          \
  do {                                                       \
    if (!(cond)) {                                           \
      printf("FAIL line %d: %s\n", __LINE__, #cond);         \
      failures++;                                            \
    }                                                        \
  } while (0)

/* Waits (polling, with a generous deadline) until cond holds. */
#define EVENTUALLY(cond)                                     \
  do {                                                       \
    int ok_ = 0;                                             \
    for (int i_ = 0; i_ < 20000; i_++) {                     \
      if (cond) {                                            \
        ok_ = 1;                                             \
        break;                                               \
      }                                                      \
      vTaskDelay(1);                                         \
    }                                                        \
    if (!ok_) {                                              \
      printf("FAIL line %d: never %s\n", __LINE__, #cond);   \
      failures++;                                            \
    }                                                        \
  } while (0)

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

/* ---- Hooks the application defines ---------------------------------------- */

static volatile int idle_memory_asked, timer_memory_asked, malloc_failed;
static StaticTask_t idle_tcb, timer_tcb;
static StackType_t idle_stack[configMINIMAL_STACK_SIZE], timer_stack[configTIMER_TASK_STACK_DEPTH];

void vApplicationGetIdleTaskMemory(StaticTask_t **tcb, StackType_t **stack, uint32_t *size) {
  *tcb = &idle_tcb;
  *stack = idle_stack;
  *size = configMINIMAL_STACK_SIZE;
  idle_memory_asked = 1;
}

void vApplicationGetTimerTaskMemory(StaticTask_t **tcb, StackType_t **stack, uint32_t *size) {
  *tcb = &timer_tcb;
  *stack = timer_stack;
  *size = configTIMER_TASK_STACK_DEPTH;
  timer_memory_asked = 1;
}

void vApplicationMallocFailedHook(void) {
  malloc_failed++;
}

void vApplicationStackOverflowHook(TaskHandle_t xTask, char *pcTaskName) {
  (void)xTask;
  printf("FAIL stack overflow reported for %s\n", pcTaskName);
}

void vApplicationIdleHook(void) {
}

void vApplicationTickHook(void) {
}

/* ---- The interrupt handler --------------------------------------------------- */

static QueueHandle_t isr_q, isr_full_q;
static SemaphoreHandle_t isr_sem;
static EventGroupHandle_t isr_group;
static TimerHandle_t isr_timer;
static TaskHandle_t notify_waiter;
static volatile int isr_ran, isr_in_isr;
static volatile BaseType_t woke_q, woke_sem, woke_notify, woke_group, woke_full, send_full;
static volatile BaseType_t timer_started, crit_ok, notified, blocking_refused;
static TaskHandle_t checker;
static volatile TickType_t isr_tick;

void TIM2_IRQHandler(void) {
  isr_in_isr = mvnet_in_isr() != 0;
  isr_tick = xTaskGetTickCountFromISR();
  BaseType_t w;
  uint32_t v = 77;
  w = pdFALSE;
  (void)xQueueSendFromISR(isr_q, &v, &w);
  woke_q = w;
  w = pdFALSE;
  (void)xSemaphoreGiveFromISR(isr_sem, &w);
  woke_sem = w;
  w = pdFALSE;
  vTaskNotifyGiveFromISR(notify_waiter, &w);
  woke_notify = w;
  w = pdFALSE;
  (void)xEventGroupSetBitsFromISR(isr_group, 0x4, &w);
  woke_group = w;
  w = pdFALSE;
  send_full = xQueueSendToFrontFromISR(isr_full_q, &v, &w); /* full: fails, wakes nobody */
  woke_full = w;
  timer_started = xTimerStartFromISR(isr_timer, NULL);
  w = pdFALSE;
  notified = xTaskNotifyFromISR(checker, 0x100, eSetBits, &w) == pdPASS && w == pdFALSE; /* checker is not waiting */
  blocking_refused = xQueueReceive(isr_full_q, &v, 10) == pdFAIL; /* a handler cannot wait */
  UBaseType_t mask = taskENTER_CRITICAL_FROM_ISR();
  crit_ok = 1;
  taskEXIT_CRITICAL_FROM_ISR(mask);
  portYIELD_FROM_ISR(woke_q);
  isr_ran = 1;
}

/* ---- Helper tasks -------------------------------------------------------------- */

static QueueHandle_t results; /* what the helpers report: one uint32_t each */

static void queue_waiter(void *arg) {
  (void)arg;
  uint32_t v = 0;
  if (xQueueReceive(isr_q, &v, portMAX_DELAY) == pdPASS) {
    v = 1000U + v;
  }
  xQueueSend(results, &v, portMAX_DELAY);
  vTaskDelete(NULL);
}

static void sem_waiter(void *arg) {
  (void)arg;
  uint32_t v = xSemaphoreTake(isr_sem, portMAX_DELAY) == pdPASS ? 2000U : 0U;
  xQueueSend(results, &v, portMAX_DELAY);
  vTaskDelete(NULL);
}

static void notify_task(void *arg) {
  (void)arg;
  uint32_t v = 3000U + ulTaskNotifyTake(pdTRUE, portMAX_DELAY);
  xQueueSend(results, &v, portMAX_DELAY);
  vTaskDelete(NULL);
}

static void group_waiter(void *arg) {
  (void)arg;
  uint32_t v = 4000U + (uint32_t)xEventGroupWaitBits(isr_group, 0x4, pdTRUE, pdFALSE, portMAX_DELAY);
  xQueueSend(results, &v, portMAX_DELAY);
  vTaskDelete(NULL);
}

static volatile int timer_fired;
static void isr_timer_cb(TimerHandle_t t) {
  (void)t;
  timer_fired++;
}

static void check_interrupts(void) {
  isr_q = xQueueCreate(2, sizeof(uint32_t));
  isr_full_q = xQueueCreate(1, sizeof(uint32_t));
  uint32_t filler = 5;
  CHECK(xQueueSend(isr_full_q, &filler, 0) == pdPASS);
  isr_sem = xSemaphoreCreateBinary();
  isr_group = xEventGroupCreate();
  isr_timer = xTimerCreate("isr", 1, pdFALSE, NULL, isr_timer_cb);
  TaskHandle_t qw, sw, gw;
  CHECK(xTaskCreate(queue_waiter, "qwait", configMINIMAL_STACK_SIZE, NULL, 2, &qw) == pdPASS);
  CHECK(xTaskCreate(sem_waiter, "swait", configMINIMAL_STACK_SIZE, NULL, 2, &sw) == pdPASS);
  CHECK(xTaskCreate(notify_task, "nwait", configMINIMAL_STACK_SIZE, NULL, 2, &notify_waiter) == pdPASS);
  CHECK(xTaskCreate(group_waiter, "gwait", configMINIMAL_STACK_SIZE, NULL, 2, &gw) == pdPASS);
  /* Pend the interrupt only once all four wait. */
  EVENTUALLY(eTaskGetState(qw) == eBlocked && eTaskGetState(sw) == eBlocked &&
             eTaskGetState(notify_waiter) == eBlocked && eTaskGetState(gw) == eBlocked);
  TickType_t before = xTaskGetTickCount();
  NVIC_SetPendingIRQ(TIM2_IRQn);
  NVIC_EnableIRQ(TIM2_IRQn);
  int seen[5] = {0};
  for (int i = 0; i < 4; i++) {
    uint32_t v = 0;
    if (xQueueReceive(results, &v, pdMS_TO_TICKS(30000)) != pdPASS) {
      printf("FAIL: only %d helpers reported\n", i);
      failures++;
      break;
    }
    switch (v) {
    case 1077: seen[1]++; break;
    case 2000: seen[2]++; break;
    case 3001: seen[3]++; break;
    case 4004: seen[4]++; break;
    default: printf("FAIL: helper reported %u\n", (unsigned)v); failures++;
    }
  }
  CHECK(seen[1] == 1 && seen[2] == 1 && seen[3] == 1 && seen[4] == 1);
  mvnet_irq_wait_idle(30000);
  CHECK(isr_ran && isr_in_isr);
  CHECK(isr_tick >= before);
  CHECK(woke_q == pdTRUE && woke_sem == pdTRUE && woke_notify == pdTRUE && woke_group == pdTRUE);
  CHECK(send_full == errQUEUE_FULL && woke_full == pdFALSE);
  CHECK(timer_started == pdPASS && crit_ok && notified && blocking_refused);
  uint32_t bits = 0;
  CHECK(xTaskNotifyWait(0, 0x100, &bits, 0) == pdTRUE && (bits & 0x100) != 0);
  EVENTUALLY(timer_fired == 1);
  CHECK(xEventGroupGetBits(isr_group) == 0); /* cleared on exit by the waiter */
  /* Calls that may block refuse to from a handler: exercised by hal_rtos.c
   * for CMSIS; here the ISR's queue receive on an empty queue just fails. */
  BaseType_t w = pdFALSE;
  uint32_t v;
  CHECK(xQueueReceiveFromISR(isr_q, &v, &w) == errQUEUE_EMPTY && w == pdFALSE);
  CHECK(xQueuePeekFromISR(isr_full_q, &v) == pdPASS && v == 5);
  CHECK(uxQueueMessagesWaitingFromISR(isr_full_q) == 1 && xQueueIsQueueFullFromISR(isr_full_q) == pdTRUE);
  CHECK(xQueueIsQueueEmptyFromISR(isr_q) == pdTRUE);
}

/* ---- Ticks and delays ------------------------------------------------------------ */

static void check_ticks(void) {
  CHECK(configTICK_RATE_HZ == 500);
  CHECK(pdMS_TO_TICKS(1000) == 500 && pdTICKS_TO_MS(500) == 1000);
  CHECK(portMAX_DELAY == 0xffffffffUL && sizeof(TickType_t) == 4);
  /* The tick counts at 500 Hz from HAL_GetTick's instant. */
  uint32_t h0 = HAL_GetTick();
  TickType_t k = xTaskGetTickCount();
  uint32_t h1 = HAL_GetTick();
  CHECK(h0 / 2 <= k && k <= h1 / 2);
  CHECK(osKernelGetTickFreq() == 500);
  /* vTaskDelay lasts at least its ticks (2 ms each). */
  uint64_t t0 = mono_ms();
  vTaskDelay(pdMS_TO_TICKS(40));
  CHECK(mono_ms() - t0 >= 40);
  /* vTaskDelayUntil keeps a period and moves the reference. */
  TickType_t last = xTaskGetTickCount();
  TickType_t start = last;
  for (int i = 0; i < 3; i++) {
    vTaskDelayUntil(&last, 5);
  }
  CHECK(last == start + 15 && xTaskGetTickCount() >= start + 15);
  /* A wake time already past does not wait. */
  TickType_t old = xTaskGetTickCount() - 100;
  CHECK(xTaskDelayUntil(&old, 10) == pdFALSE);
  TickType_t soon = xTaskGetTickCount();
  CHECK(xTaskDelayUntil(&soon, 3) == pdTRUE && xTaskGetTickCount() >= soon);
}

/* ---- Tasks ----------------------------------------------------------------------- */

static volatile int worker_runs;
static void worker(void *arg) {
  (void)arg;
  for (;;) {
    worker_runs++;
    vTaskDelay(1);
  }
}

static void self_suspender(void *arg) {
  volatile int *stage = arg;
  *stage = 1;
  vTaskSuspend(NULL);
  *stage = 2;
  vTaskDelete(NULL);
}

static StaticTask_t static_tcb;
static StackType_t static_stack[configMINIMAL_STACK_SIZE];

static void check_tasks(void) {
  TaskHandle_t me = xTaskGetCurrentTaskHandle();
  CHECK(me != NULL && (osThreadId_t)me == osThreadGetId());
  CHECK(strcmp(pcTaskGetTaskName(NULL), "checks") == 0 && sizeof(xTaskHandle) == sizeof(TaskHandle_t));
  CHECK(strcmp(pcTaskGetName(NULL), "checks") == 0 && strcmp(pcTaskGetName(me), osThreadGetName(me)) == 0);
  CHECK(uxTaskPriorityGet(NULL) == 3);
  vTaskPrioritySet(NULL, 4);
  CHECK(uxTaskPriorityGet(me) == 4 && (int)osThreadGetPriority(me) == 4);
  vTaskPrioritySet(NULL, 100); /* capped at configMAX_PRIORITIES - 1 */
  CHECK(uxTaskPriorityGet(NULL) == configMAX_PRIORITIES - 1);
  vTaskPrioritySet(NULL, 3);
  CHECK(uxTaskGetStackHighWaterMark(NULL) > 0);
  CHECK(eTaskGetState(me) == eRunning);
  CHECK(xTaskGetSchedulerState() == taskSCHEDULER_RUNNING);

  TaskHandle_t w = NULL;
  CHECK(xTaskCreate(worker, "a-long-task-name", configMINIMAL_STACK_SIZE, NULL, tskIDLE_PRIORITY, &w) == pdPASS);
  CHECK(strcmp(pcTaskGetName(w), "a-long-") == 0); /* configMAX_TASK_NAME_LEN - 1 characters */
  CHECK(uxTaskPriorityGet(w) == tskIDLE_PRIORITY);
  CHECK(uxTaskGetStackHighWaterMark(w) == configMINIMAL_STACK_SIZE);
  EVENTUALLY(worker_runs > 2);
  /* Suspending another task stops it at its next delay. */
  vTaskSuspend(w);
  CHECK(eTaskGetState(w) == eSuspended);
  int stopped_at = worker_runs;
  vTaskDelay(pdMS_TO_TICKS(20));
  int later = worker_runs;
  CHECK(later <= stopped_at + 1);
  vTaskResume(w);
  EVENTUALLY(worker_runs > later + 2);
  vTaskDelete(w);
  EVENTUALLY(eTaskGetState(w) == eDeleted);

  volatile int stage = 0;
  TaskHandle_t s = xTaskCreateStatic(self_suspender, "susp", configMINIMAL_STACK_SIZE, (void *)&stage, 2, static_stack,
                                     &static_tcb);
  CHECK(s != NULL);
  EVENTUALLY(stage == 1 && eTaskGetState(s) == eSuspended);
  CHECK(xTaskResumeFromISR(s) == pdTRUE);
  EVENTUALLY(stage == 2);
  CHECK(xTaskCreateStatic(self_suspender, "x", 64, NULL, 1, NULL, &static_tcb) == NULL);

  /* Critical sections and the scheduler lock nest. */
  taskENTER_CRITICAL();
  taskENTER_CRITICAL();
  taskEXIT_CRITICAL();
  taskEXIT_CRITICAL();
  vTaskSuspendAll();
  CHECK(xTaskGetSchedulerState() == taskSCHEDULER_SUSPENDED);
  vTaskSuspendAll();
  (void)xTaskResumeAll();
  CHECK(xTaskGetSchedulerState() == taskSCHEDULER_SUSPENDED);
  (void)xTaskResumeAll();
  CHECK(xTaskGetSchedulerState() == taskSCHEDULER_RUNNING);
  taskYIELD();
  taskDISABLE_INTERRUPTS();
  taskENABLE_INTERRUPTS();
  configASSERT(me != NULL);
}

/* ---- Notifications ------------------------------------------------------------------ */

static void notifier(void *arg) {
  (void)arg;
  xTaskNotify(checker, 0x10, eSetBits);
  vTaskDelete(NULL);
}

static void check_notifications(void) {
  checker = xTaskGetCurrentTaskHandle();
  uint32_t v = 0;
  CHECK(xTaskNotifyWait(0, 0, &v, 0) == pdFALSE);
  CHECK(xTaskNotify(checker, 0x3, eSetValueWithOverwrite) == pdPASS);
  CHECK(xTaskNotify(checker, 0x5, eSetValueWithoutOverwrite) == pdFAIL); /* still pending */
  CHECK(xTaskNotifyWait(0, 0xffffffffU, &v, 0) == pdTRUE && v == 0x3);
  CHECK(xTaskNotifyGive(checker) == pdPASS && xTaskNotifyGive(checker) == pdPASS);
  CHECK(ulTaskNotifyTake(pdFALSE, 0) == 2 && ulTaskNotifyTake(pdTRUE, 0) == 1 && ulTaskNotifyTake(pdTRUE, 0) == 0);
  uint32_t prev = 0;
  CHECK(xTaskNotifyAndQuery(checker, 0x40, eSetBits, &prev) == pdPASS && prev == 0);
  CHECK(xTaskNotifyStateClear(NULL) == pdPASS && xTaskNotifyStateClear(NULL) == pdFAIL);
  CHECK(ulTaskNotifyValueClear(NULL, 0x40) == 0x40);
  /* A wait that times out, then one another task ends. */
  TickType_t t0 = xTaskGetTickCount();
  CHECK(xTaskNotifyWait(0, 0, &v, 5) == pdFALSE && xTaskGetTickCount() - t0 >= 5);
  CHECK(xTaskCreate(notifier, "notif", configMINIMAL_STACK_SIZE, NULL, 2, NULL) == pdPASS);
  CHECK(xTaskNotifyWait(0, 0x10, &v, portMAX_DELAY) == pdTRUE && v == 0x10);
  CHECK(ulTaskNotifyValueClear(NULL, 0) == 0);
}

/* ---- Queues ------------------------------------------------------------------------ */

static void check_queues(void) {
  QueueHandle_t q = xQueueCreate(3, sizeof(uint32_t));
  uint32_t a = 1, b = 2, c = 3, d = 4, v = 0;
  CHECK(q != NULL && uxQueueSpacesAvailable(q) == 3);
  CHECK(xQueueSend(q, &a, 0) == pdPASS && xQueueSendToBack(q, &b, 0) == pdPASS);
  CHECK(xQueueSendToFront(q, &c, 0) == pdPASS); /* c a b */
  CHECK(xQueueSend(q, &d, 0) == errQUEUE_FULL && uxQueueMessagesWaiting(q) == 3);
  TickType_t t0 = xTaskGetTickCount();
  CHECK(xQueueSend(q, &d, 4) == errQUEUE_FULL && xTaskGetTickCount() - t0 >= 4);
  CHECK(xQueuePeek(q, &v, 0) == pdPASS && v == 3 && uxQueueMessagesWaiting(q) == 3);
  CHECK(xQueueReceive(q, &v, 0) == pdPASS && v == 3);
  CHECK(xQueueReceive(q, &v, 0) == pdPASS && v == 1);
  CHECK(xQueueReceive(q, &v, 0) == pdPASS && v == 2);
  CHECK(xQueueReceive(q, &v, 3) == errQUEUE_EMPTY);
  CHECK(xQueueSend(q, &a, 0) == pdPASS && xQueueReset(q) == pdPASS && uxQueueMessagesWaiting(q) == 0);
  vQueueAddToRegistry(q, "q");
  vQueueUnregisterQueue(q);
  vQueueDelete(q);

  QueueHandle_t one = xQueueCreate(1, sizeof(uint32_t));
  CHECK(xQueueOverwrite(one, &a) == pdPASS && xQueueOverwrite(one, &b) == pdPASS);
  BaseType_t w = pdFALSE;
  CHECK(xQueueOverwriteFromISR(one, &c, &w) == pdPASS && w == pdFALSE);
  CHECK(xQueueReceive(one, &v, 0) == pdPASS && v == 3 && uxQueueMessagesWaiting(one) == 0);
  CHECK(xQueueSendToBackFromISR(one, &a, &w) == pdPASS);
  CHECK(xQueueReceiveFromISR(one, &v, &w) == pdPASS && v == 1);
  vQueueDelete(one);

  static StaticQueue_t sq;
  static uint8_t storage[4 * sizeof(uint32_t)];
  QueueHandle_t s = xQueueCreateStatic(4, sizeof(uint32_t), storage, &sq);
  CHECK(s != NULL && xQueueSend(s, &d, 0) == pdPASS && xQueueReceive(s, &v, 0) == pdPASS && v == 4);
  vQueueDelete(s);
}

/* ---- Semaphores and mutexes ----------------------------------------------------------- */

static SemaphoreHandle_t shared_mutex;
static volatile int holder_state;
static void mutex_holder(void *arg) {
  (void)arg;
  xSemaphoreTake(shared_mutex, portMAX_DELAY);
  holder_state = 1;
  while (holder_state != 2) {
    vTaskDelay(1);
  }
  holder_state = 3; /* before the give: the waiter's take cannot return earlier */
  xSemaphoreGive(shared_mutex);
  vTaskDelete(NULL);
}

static void check_semaphores(void) {
  SemaphoreHandle_t bin = xSemaphoreCreateBinary();
  CHECK(bin != NULL && uxSemaphoreGetCount(bin) == 0);
  CHECK(xSemaphoreTake(bin, 0) == pdFAIL);
  CHECK(xSemaphoreGive(bin) == pdPASS && xSemaphoreGive(bin) == pdFAIL); /* binary: at most 1 */
  CHECK(xSemaphoreTake(bin, portMAX_DELAY) == pdPASS);
  BaseType_t w = pdFALSE;
  CHECK(xSemaphoreGiveFromISR(bin, &w) == pdPASS && xSemaphoreTakeFromISR(bin, &w) == pdPASS);
  vSemaphoreDelete(bin);

  SemaphoreHandle_t cnt = xSemaphoreCreateCounting(3, 1);
  CHECK(uxSemaphoreGetCount(cnt) == 1 && xSemaphoreGive(cnt) == pdPASS && uxSemaphoreGetCount(cnt) == 2);
  CHECK(xSemaphoreTake(cnt, 0) == pdPASS && xSemaphoreTake(cnt, 0) == pdPASS && xSemaphoreTake(cnt, 2) == pdFAIL);
  vSemaphoreDelete(cnt);

  SemaphoreHandle_t m = xSemaphoreCreateMutex();
  CHECK(xSemaphoreGive(m) == pdFAIL); /* not held */
  CHECK(xSemaphoreTake(m, 0) == pdPASS && xSemaphoreGetMutexHolder(m) == xTaskGetCurrentTaskHandle());
  CHECK(uxSemaphoreGetCount(m) == 0);
  TickType_t t0 = xTaskGetTickCount();
  CHECK(xSemaphoreTake(m, 3) == pdFAIL && xTaskGetTickCount() - t0 >= 3); /* the holder itself waits */
  CHECK(xSemaphoreGive(m) == pdPASS && uxSemaphoreGetCount(m) == 1 && xSemaphoreGetMutexHolder(m) == NULL);
  /* Another holder: give from here fails, take waits until it gives. */
  shared_mutex = m;
  CHECK(xTaskCreate(mutex_holder, "holder", configMINIMAL_STACK_SIZE, NULL, 2, NULL) == pdPASS);
  EVENTUALLY(holder_state == 1);
  CHECK(xSemaphoreGive(m) == pdFAIL && xSemaphoreTake(m, 0) == pdFAIL);
  holder_state = 2;
  CHECK(xSemaphoreTake(m, portMAX_DELAY) == pdPASS && holder_state == 3);
  CHECK(xSemaphoreGive(m) == pdPASS);
  vSemaphoreDelete(m);

  SemaphoreHandle_t r = xSemaphoreCreateRecursiveMutex();
  CHECK(xSemaphoreTakeRecursive(r, 0) == pdPASS && xSemaphoreTakeRecursive(r, 0) == pdPASS);
  CHECK(xSemaphoreGiveRecursive(r) == pdPASS && xSemaphoreGetMutexHolder(r) == xTaskGetCurrentTaskHandle());
  CHECK(xSemaphoreGiveRecursive(r) == pdPASS && xSemaphoreGetMutexHolder(r) == NULL);
  CHECK(xSemaphoreGiveRecursive(r) == pdFAIL);
  vSemaphoreDelete(r);

  static StaticSemaphore_t b1, b2, b3, b4;
  SemaphoreHandle_t sb = xSemaphoreCreateBinaryStatic(&b1);
  SemaphoreHandle_t sc = xSemaphoreCreateCountingStatic(2, 2, &b2);
  SemaphoreHandle_t sm = xSemaphoreCreateMutexStatic(&b3);
  SemaphoreHandle_t sr = xSemaphoreCreateRecursiveMutexStatic(&b4);
  CHECK(sb && sc && sm && sr && uxSemaphoreGetCount(sb) == 0 && uxSemaphoreGetCount(sc) == 2);
  CHECK(xSemaphoreTake(sm, 0) == pdPASS && xSemaphoreGive(sm) == pdPASS);
  CHECK(xSemaphoreTakeRecursive(sr, 0) == pdPASS && xSemaphoreGiveRecursive(sr) == pdPASS);
  vSemaphoreDelete(sb);
  vSemaphoreDelete(sc);
  vSemaphoreDelete(sm);
  vSemaphoreDelete(sr);
}

/* ---- Timers --------------------------------------------------------------------------- */

static volatile int periodic_count, oneshot_count;
static volatile void *seen_id;
static void periodic_cb(TimerHandle_t t) {
  seen_id = pvTimerGetTimerID(t);
  periodic_count++;
}
static void oneshot_cb(TimerHandle_t t) {
  (void)t;
  oneshot_count++;
}

static volatile uint32_t pended_sum;
static volatile void *pended_on;
static void pended(void *p1, uint32_t p2) {
  pended_on = xTaskGetCurrentTaskHandle();
  pended_sum += (uint32_t)(uintptr_t)p1 + p2;
}

static void check_timers(void) {
  static int tag;
  TimerHandle_t p = xTimerCreate("tick", pdMS_TO_TICKS(10), pdTRUE, &tag, periodic_cb);
  CHECK(p != NULL && xTimerIsTimerActive(p) == pdFALSE && strcmp(pcTimerGetName(p), "tick") == 0);
  CHECK(xTimerGetPeriod(p) == pdMS_TO_TICKS(10) && uxTimerGetReloadMode(p) == pdTRUE);
  CHECK(xTimerStart(p, 0) == pdPASS && xTimerIsTimerActive(p) == pdTRUE && osTimerIsRunning((osTimerId_t)p) == 1);
  EVENTUALLY(periodic_count >= 3);
  CHECK(seen_id == &tag);
  CHECK(xTimerStop(p, 0) == pdPASS && xTimerIsTimerActive(p) == pdFALSE && xTimerStop(p, 0) == pdPASS);
  vTimerSetTimerID(p, NULL);
  CHECK(pvTimerGetTimerID(p) == NULL);
  CHECK(xTimerChangePeriod(p, 4, 0) == pdPASS && xTimerGetPeriod(p) == 4 && xTimerIsTimerActive(p) == pdTRUE);
  /* At most one period ahead. The tick is read first and the distance is
   * signed: a loaded host may let the tick pass the expiry before the timer
   * fires (an overdue expiry is a negative distance, not a wrapped one). */
  TickType_t now = xTaskGetTickCount();
  CHECK((int32_t)(xTimerGetExpiryTime(p) - now) <= 4);
  CHECK(xTimerDelete(p, 0) == pdPASS);

  static StaticTimer_t st;
  TimerHandle_t o = xTimerCreateStatic("once", 2, pdFALSE, NULL, oneshot_cb, &st);
  CHECK(xTimerReset(o, 0) == pdPASS);
  EVENTUALLY(oneshot_count == 1);
  CHECK(xTimerIsTimerActive(o) == pdFALSE);
  BaseType_t w = pdFALSE;
  CHECK(xTimerChangePeriodFromISR(o, 2, &w) == pdPASS);
  EVENTUALLY(oneshot_count == 2);
  CHECK(xTimerResetFromISR(o, &w) == pdPASS && xTimerStopFromISR(o, &w) == pdPASS);
  CHECK(xTimerGetTimerDaemonTaskHandle() != NULL);
  CHECK(xTimerDelete(o, 0) == pdPASS);
  CHECK(xTimerCreate("zero", 0, pdFALSE, NULL, oneshot_cb) == NULL);

  /* Pended calls run on the timer service thread, in order. */
  CHECK(xTimerPendFunctionCall(pended, (void *)1, 10, 0) == pdPASS);
  CHECK(xTimerPendFunctionCallFromISR(pended, (void *)2, 20, &w) == pdPASS);
  EVENTUALLY(pended_sum == 33);
  CHECK(pended_on == xTimerGetTimerDaemonTaskHandle());
}

/* ---- Event groups ---------------------------------------------------------------------- */

static EventGroupHandle_t sync_group;
static void syncer(void *arg) {
  uint32_t mine = (uint32_t)(uintptr_t)arg;
  EventBits_t r = xEventGroupSync(sync_group, mine, 0x7, portMAX_DELAY);
  uint32_t v = (r & 0x7) == 0x7 ? 1U : 0U;
  xQueueSend(results, &v, portMAX_DELAY);
  vTaskDelete(NULL);
}

static void check_event_groups(void) {
  EventGroupHandle_t g = xEventGroupCreate();
  CHECK(xEventGroupSetBits(g, 0x3) == 0x3 && xEventGroupGetBits(g) == 0x3);
  CHECK(xEventGroupWaitBits(g, 0x1, pdFALSE, pdTRUE, 0) == 0x3 && xEventGroupGetBits(g) == 0x3);
  CHECK(xEventGroupWaitBits(g, 0x5, pdTRUE, pdTRUE, 2) == 0x3); /* times out: the bits now */
  CHECK(xEventGroupWaitBits(g, 0x5, pdTRUE, pdFALSE, 0) == 0x3 && xEventGroupGetBits(g) == 0x2);
  CHECK(xEventGroupClearBits(g, 0x2) == 0x2 && xEventGroupGetBitsFromISR(g) == 0);
  CHECK(xEventGroupClearBitsFromISR(g, 0x1) == pdPASS);
  vEventGroupDelete(g);

  /* Three tasks meet: each sets its bit and waits for all three. */
  static StaticEventGroup_t sg;
  sync_group = xEventGroupCreateStatic(&sg);
  CHECK(xTaskCreate(syncer, "sync1", configMINIMAL_STACK_SIZE, (void *)1, 2, NULL) == pdPASS);
  CHECK(xTaskCreate(syncer, "sync2", configMINIMAL_STACK_SIZE, (void *)2, 2, NULL) == pdPASS);
  EventBits_t r = xEventGroupSync(sync_group, 0x4, 0x7, portMAX_DELAY);
  CHECK((r & 0x7) == 0x7);
  for (int i = 0; i < 2; i++) {
    uint32_t v = 0;
    CHECK(xQueueReceive(results, &v, pdMS_TO_TICKS(30000)) == pdPASS && v == 1);
  }
  CHECK(xEventGroupGetBits(sync_group) == 0);
  vEventGroupDelete(sync_group);
}

/* ---- Heap ------------------------------------------------------------------------------ */

static void check_heap(void) {
  size_t free0 = xPortGetFreeHeapSize();
  CHECK(free0 <= configTOTAL_HEAP_SIZE && free0 > configTOTAL_HEAP_SIZE / 2);
  void *p = pvPortMalloc(1000);
  CHECK(p != NULL && xPortGetFreeHeapSize() <= free0 - 1000);
  memset(p, 0xab, 1000);
  CHECK(pvPortMalloc(configTOTAL_HEAP_SIZE) == NULL && malloc_failed == 1);
  vPortFree(p);
  CHECK(xPortGetFreeHeapSize() == free0 && xPortGetMinimumEverFreeHeapSize() <= free0 - 1000);
}

/* ---- The checks task -------------------------------------------------------------------- */

static void checks(void *arg) {
  (void)arg;
  CHECK(idle_memory_asked && timer_memory_asked);
  checker = xTaskGetCurrentTaskHandle();
  results = xQueueCreate(8, sizeof(uint32_t));
  check_ticks();
  check_tasks();
  check_notifications();
  check_queues();
  check_semaphores();
  check_timers();
  check_event_groups();
  check_heap();
  check_interrupts();
  printf("failures=%d\n", failures);
  fflush(stdout);
  exit(failures);
}

int main(void) {
  HAL_Init();
  CHECK(xTaskGetSchedulerState() == taskSCHEDULER_NOT_STARTED);
  CHECK(xTaskGetCurrentTaskHandle() == NULL);
  TaskHandle_t t = NULL;
  if (xTaskCreate(checks, "checks", configMINIMAL_STACK_SIZE * 4, NULL, 3, &t) != pdPASS || t == NULL) {
    printf("FAIL: xTaskCreate\n");
    return 1;
  }
  vTaskStartScheduler();
  printf("FAIL: vTaskStartScheduler returned\n");
  return 1;
}
