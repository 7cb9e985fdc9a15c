/*
 * CMSIS-RTOS2 and FreeRTOS's native API on the same objects, as ST's wrapper
 * allows: each kind of object made by one API is used through the other.
 * Includes only cmsis_os.h (which brings in FreeRTOS.h and its companions,
 * as ST's does) and uses configMINIMAL_STACK_SIZE. Prints "failures=N"
 * (and the config values it saw) and exits with N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmsis_os.h"

static int failures;
#define CHECK(cond)                                  \
  do {                                               \
    if (!(cond)) {                                   \
      printf("FAIL line %d: %s\n", __LINE__, #cond); \
      failures++;                                    \
    }                                                \
  } while (0)

static volatile int cb_count;
static void cmsis_timer_cb(void *arg) {
  (void)arg;
  cb_count++;
}

static volatile int other_ready;
static void cmsis_thread(void *arg) {
  (void)arg;
  /* A CMSIS thread takes a FreeRTOS notification. */
  other_ready = 1;
  uint32_t n = ulTaskNotifyTake(pdTRUE, portMAX_DELAY);
  osThreadFlagsSet((osThreadId_t)arg, n == 1 ? 0x1U : 0x2U);
  osThreadExit();
}

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

/* osKernelLock and vTaskSuspendAll are one lock: a thread holding one keeps
 * out a task taking the other, whose unlock cannot clear the first's. */
static volatile int a_locked, a_release, a_done, b_in, b_done;
static volatile int32_t a_lock_ret = -99, a_unlock_ret = -99;
static volatile BaseType_t a_sees, b_sees_before;

static void locker_thread(void *arg) {
  (void)arg;
  a_lock_ret = osKernelLock();
  a_sees = xTaskGetSchedulerState();
  a_locked = 1;
  while (!a_release) {
  }
  a_unlock_ret = osKernelUnlock();
  a_done = 1;
  osThreadExit();
}

static void suspender_task(void *arg) {
  (void)arg;
  vTaskSuspendAll();
  b_in = 1;
  (void)xTaskResumeAll();
  b_done = 1;
  vTaskDelete(NULL);
}

static void check_one_scheduler_lock(void) {
  osThreadAttr_t attr = {.name = "locker", .stack_size = configMINIMAL_STACK_SIZE * 4U};
  CHECK(osThreadNew(locker_thread, NULL, &attr) != NULL);
  uint64_t end = mono_ms() + 30000U;
  while (!a_locked && mono_ms() < end) {
    osDelay(1);
  }
  CHECK(a_locked && a_lock_ret == 0 && a_sees == taskSCHEDULER_SUSPENDED);
  CHECK(osKernelGetState() == osKernelLocked);
  /* Only the holder is suspended from its own view, as on the device. */
  CHECK(xTaskGetSchedulerState() == taskSCHEDULER_RUNNING);
  CHECK(xTaskCreate(suspender_task, "susp", configMINIMAL_STACK_SIZE * 4U, NULL, 3, NULL) == pdPASS);
  /* The window in which the task would get in if the locks were separate. */
  end = mono_ms() + 300U;
  while (!b_in && mono_ms() < end) {
    osDelay(1);
  }
  b_sees_before = b_in;
  CHECK(!b_sees_before);
  a_release = 1;
  end = mono_ms() + 30000U;
  while (!(a_done && b_done) && mono_ms() < end) {
    osDelay(1);
  }
  CHECK(a_done && b_done);
  CHECK(a_unlock_ret == 1);
  CHECK(osKernelGetState() == osKernelRunning);
}

static void checks(void *arg) {
  (void)arg;
  /* Threads and tasks are one object. */
  osThreadId_t me = osThreadGetId();
  CHECK(me != NULL && me == (osThreadId_t)xTaskGetCurrentTaskHandle());
  CHECK(strcmp(osThreadGetName(me), pcTaskGetName(NULL)) == 0);
  CHECK(osThreadGetPriority(me) == osPriorityNormal && uxTaskPriorityGet(NULL) == (UBaseType_t)osPriorityNormal);
  vTaskPrioritySet(NULL, 5); /* below configMAX_PRIORITIES in both configurations */
  CHECK(osThreadGetPriority(me) == (osPriority_t)5);
  CHECK(osThreadSetPriority(me, osPriorityNormal) == osOK && uxTaskPriorityGet(me) == (UBaseType_t)osPriorityNormal);
  osThreadAttr_t attr = {.name = "cmsis", .stack_size = configMINIMAL_STACK_SIZE * sizeof(StackType_t)};
  osThreadId_t other = osThreadNew(cmsis_thread, me, &attr);
  CHECK(other != NULL);
  while (!other_ready) {
    osDelay(1);
  }
  CHECK(xTaskNotifyGive((TaskHandle_t)other) == pdPASS);
  CHECK(osThreadFlagsWait(0x3U, osFlagsWaitAny, osWaitForever) == 0x1U);
  CHECK(uxTaskGetStackHighWaterMark((TaskHandle_t)other) == configMINIMAL_STACK_SIZE);

  /* Ticks: one count, one rate. */
  CHECK(osKernelGetTickFreq() == configTICK_RATE_HZ);
  uint32_t a = osKernelGetTickCount();
  TickType_t b = xTaskGetTickCount();
  uint32_t c = osKernelGetTickCount();
  CHECK(a <= b && b <= c);

  /* A CMSIS queue through FreeRTOS calls and back. */
  osMessageQueueId_t mq = osMessageQueueNew(2, sizeof(uint32_t), NULL);
  uint32_t v = 7, got = 0;
  CHECK(xQueueSend((QueueHandle_t)mq, &v, 0) == pdPASS && osMessageQueueGetCount(mq) == 1);
  CHECK(osMessageQueueGet(mq, &got, NULL, 0) == osOK && got == 7);
  QueueHandle_t fq = xQueueCreate(2, sizeof(uint32_t));
  CHECK(osMessageQueuePut((osMessageQueueId_t)fq, &v, 0, 0) == osOK && uxQueueMessagesWaiting(fq) == 1);
  CHECK(xQueueReceive(fq, &got, portMAX_DELAY) == pdPASS && got == 7);
  CHECK(osMessageQueueDelete(mq) == osOK);
  vQueueDelete(fq);

  /* Semaphores and mutexes. */
  osSemaphoreId_t s = osSemaphoreNew(2, 0, NULL);
  CHECK(xSemaphoreGive((SemaphoreHandle_t)s) == pdPASS && osSemaphoreGetCount(s) == 1);
  CHECK(uxSemaphoreGetCount((SemaphoreHandle_t)s) == 1 && osSemaphoreAcquire(s, 0) == osOK);
  SemaphoreHandle_t fs = xSemaphoreCreateBinary();
  CHECK(osSemaphoreRelease((osSemaphoreId_t)fs) == osOK && xSemaphoreTake(fs, 0) == pdPASS);
  osMutexId_t m = osMutexNew(NULL);
  CHECK(xSemaphoreTake((SemaphoreHandle_t)m, 0) == pdPASS && osMutexGetOwner(m) == me);
  CHECK(osMutexRelease(m) == osOK && xSemaphoreGetMutexHolder((SemaphoreHandle_t)m) == NULL);
  SemaphoreHandle_t fm = xSemaphoreCreateMutex();
  CHECK(osMutexAcquire((osMutexId_t)fm, 0) == osOK && xSemaphoreGetMutexHolder(fm) == (TaskHandle_t)me);
  CHECK(xSemaphoreGive(fm) == pdPASS && osMutexGetOwner((osMutexId_t)fm) == NULL);
  vSemaphoreDelete(fs);
  vSemaphoreDelete(fm);
  CHECK(osSemaphoreDelete(s) == osOK && osMutexDelete(m) == osOK);

  /* Event flags and event groups. */
  osEventFlagsId_t ef = osEventFlagsNew(NULL);
  CHECK(xEventGroupSetBits((EventGroupHandle_t)ef, 0x5) == 0x5 && osEventFlagsGet(ef) == 0x5);
  CHECK(osEventFlagsWait(ef, 0x1, osFlagsWaitAny, 0) == 0x5 && xEventGroupGetBits((EventGroupHandle_t)ef) == 0x4);
  EventGroupHandle_t g = xEventGroupCreate();
  CHECK(osEventFlagsSet((osEventFlagsId_t)g, 0x2) == 0x2);
  CHECK(xEventGroupWaitBits(g, 0x2, pdTRUE, pdTRUE, portMAX_DELAY) == 0x2 && osEventFlagsGet((osEventFlagsId_t)g) == 0);
  vEventGroupDelete(g);
  CHECK(osEventFlagsDelete(ef) == osOK);

  /* Timers. */
  osTimerId_t t = osTimerNew(cmsis_timer_cb, osTimerPeriodic, NULL, NULL);
  CHECK(osTimerStart(t, 2) == osOK && xTimerIsTimerActive((TimerHandle_t)t) == pdTRUE);
  CHECK(xTimerGetPeriod((TimerHandle_t)t) == 2);
  while (cb_count < 2) {
    vTaskDelay(1);
  }
  CHECK(xTimerStop((TimerHandle_t)t, 0) == pdPASS && osTimerIsRunning(t) == 0);
  CHECK(osTimerDelete(t) == osOK);

  /* The kernel: vTaskSuspendAll is osKernelLock's state. */
  vTaskSuspendAll();
  CHECK(osKernelGetState() == osKernelLocked);
  (void)xTaskResumeAll();
  CHECK(osKernelGetState() == osKernelRunning && xTaskGetSchedulerState() == taskSCHEDULER_RUNNING);
  check_one_scheduler_lock();

  printf("minimal=%u tick=%u max=%u\n", (unsigned)configMINIMAL_STACK_SIZE, (unsigned)osKernelGetTickFreq(),
         (unsigned)configMAX_PRIORITIES);
  printf("failures=%d\n", failures);
  fflush(stdout);
  exit(failures);
}

int main(void) {
  osKernelInitialize();
  osThreadAttr_t attr = {.name = "checks", .stack_size = configMINIMAL_STACK_SIZE * 4U};
  if (osThreadNew(checks, NULL, &attr) == NULL) {
    printf("FAIL: osThreadNew\n");
    return 1;
  }
  osKernelStart();
  return 1;
}
