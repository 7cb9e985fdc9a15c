/*
 * rtos_objects.c — RTOS test cases for message queues, mutexes, semaphores
 * and event flags (see rtos_cases.c).
 */
#include "rtos_cases.h"

/* ---- Message queue: put from a handler ----------------------------------- */

static osMessageQueueId_t q;
static osStatus_t isr_results[8];

static void *handler_fill(void *arg) {
  (void)arg;
  in_handler = 1;
  uint32_t v = 1;
  isr_results[0] = osMessageQueuePut(q, &v, 0, 0);
  v = 2;
  isr_results[1] = osMessageQueuePut(q, &v, 0, 0);
  v = 3;
  /* Full: must not block. Nothing could ever make room (the case thread
   * is joining this one), so a Put that waited would hang the case. */
  isr_results[2] = osMessageQueuePut(q, &v, 0, 0);
  isr_results[3] = osMessageQueuePut(q, &v, 0, 10); /* a timeout in an ISR */
  isr_results[4] = osMessageQueueGet(q, &v, NULL, 10);
  isr_results[5] = osDelay(1);
  isr_results[6] = osKernelInitialize();
  return NULL;
}

static atomic_int blocked_putter_done;
static void blocked_putter(void *arg) {
  (void)arg;
  uint32_t v = 99;
  osMessageQueuePut(q, &v, 0, osWaitForever); /* waits: the queue is full */
  atomic_store(&blocked_putter_done, 1);
}

static void *handler_put_one(void *arg) {
  in_handler = 1;
  uint32_t v = *(uint32_t *)arg;
  isr_results[7] = osMessageQueuePut(q, &v, 0, 0);
  return NULL;
}

#define STRESS_N 20000
static void *handler_stress(void *arg) {
  (void)arg;
  in_handler = 1;
  for (uint32_t i = 0; i < STRESS_N; i++) {
    while (osMessageQueuePut(q, &i, 0, 0) == osErrorResource) {
      sched_yield();
    }
  }
  return NULL;
}

void case_queue_isr(void) {
  q = osMessageQueueNew(2, sizeof(uint32_t), NULL);
  CHECK(q != NULL);
  run_as_handler(handler_fill, NULL);
  CHECK(isr_results[0] == osOK);
  CHECK(isr_results[1] == osOK);
  CHECK(isr_results[2] == osErrorResource);
  CHECK(isr_results[3] == osErrorParameter);
  CHECK(isr_results[4] == osErrorParameter);
  CHECK(isr_results[5] == osErrorISR);
  CHECK(isr_results[6] == osErrorISR);
  CHECK(osMessageQueueGetCount(q) == 2);

  /* A thread blocked in Put on the full queue does not make the handler's
   * Put wait either (again nothing would make room: a wait would hang). */
  osThreadId_t bp = osThreadNew(blocked_putter, NULL, NULL);
  CHECK(bp != NULL);
  WAIT_UNTIL(osThreadGetState(bp) == osThreadBlocked);
  CHECK(osThreadGetState(bp) == osThreadBlocked);
  uint32_t v = 7;
  run_as_handler(handler_put_one, &v);
  CHECK(isr_results[7] == osErrorResource);

  /* Order: 1, 2, then the blocked putter's 99 once there is room. */
  uint32_t got = 0;
  CHECK(osMessageQueueGet(q, &got, NULL, 0) == osOK && got == 1);
  CHECK(osMessageQueueGet(q, &got, NULL, osWaitForever) == osOK && got == 2);
  CHECK(osMessageQueueGet(q, &got, NULL, osWaitForever) == osOK && got == 99);
  wait_for(&blocked_putter_done);
  CHECK(atomic_load(&blocked_putter_done));

  /* A handler's Put wakes a thread blocked in Get. */
  v = 42;
  pthread_t h;
  pthread_create(&h, NULL, handler_put_one, &v);
  got = 0;
  CHECK(osMessageQueueGet(q, &got, NULL, osWaitForever) == osOK && got == 42);
  pthread_join(h, NULL);
  CHECK(isr_results[7] == osOK);

  /* Many puts from a handler, none lost or reordered. */
  pthread_create(&h, NULL, handler_stress, NULL);
  int in_order = 1;
  for (uint32_t i = 0; i < STRESS_N; i++) {
    if (osMessageQueueGet(q, &got, NULL, osWaitForever) != osOK || got != i) {
      in_order = 0;
      break;
    }
  }
  pthread_join(h, NULL);
  CHECK(in_order);
  CHECK(osMessageQueueDelete(q) == osOK);
  finish("queue_isr");
}

/* ---- Message queue: timeouts, priorities, reset, delete ------------------- */

static void late_putter(void *arg) {
  (void)arg;
  osDelay(40);
  uint32_t v = 5;
  osMessageQueuePut(q, &v, 0, 0);
}

static atomic_int getter_status = 1;
static void doomed_getter(void *arg) {
  (void)arg;
  uint32_t v;
  atomic_store(&getter_status, osMessageQueueGet(q, &v, NULL, osWaitForever));
}

void case_queue_timeout(void) {
  q = osMessageQueueNew(3, sizeof(uint32_t), &(osMessageQueueAttr_t){.name = "q3"});
  CHECK(q != NULL);
  CHECK(strcmp(osMessageQueueGetName(q), "q3") == 0);
  CHECK(osMessageQueueGetCapacity(q) == 3);
  CHECK(osMessageQueueGetMsgSize(q) == sizeof(uint32_t));
  CHECK(osMessageQueueGetSpace(q) == 3);
  uint32_t v = 0;

  CHECK(osMessageQueueGet(q, &v, NULL, 0) == osErrorResource);
  double t0 = now_ms();
  CHECK(osMessageQueueGet(q, &v, NULL, 60) == osErrorTimeout);
  double waited = now_ms() - t0;
  CHECK(waited >= 59.0); /* a lower bound only: a loaded machine may take longer */

  /* Higher priority first, FIFO within a priority. */
  uint32_t a = 10, b = 20, c = 30;
  CHECK(osMessageQueuePut(q, &a, 1, 0) == osOK);
  CHECK(osMessageQueuePut(q, &b, 5, 0) == osOK);
  CHECK(osMessageQueuePut(q, &c, 5, 0) == osOK);
  CHECK(osMessageQueueGetCount(q) == 3 && osMessageQueueGetSpace(q) == 0);
  t0 = now_ms();
  CHECK(osMessageQueuePut(q, &a, 0, 40) == osErrorTimeout);
  CHECK(now_ms() - t0 >= 39.0);
  uint8_t prio = 0;
  CHECK(osMessageQueueGet(q, &v, &prio, 0) == osOK && v == 20 && prio == 5);
  CHECK(osMessageQueueGet(q, &v, &prio, 0) == osOK && v == 30 && prio == 5);
  CHECK(osMessageQueueGet(q, &v, &prio, 0) == osOK && v == 10 && prio == 1);

  /* A message arriving during the wait ends it (with no timeout, only the
   * message can). */
  osThreadNew(late_putter, NULL, NULL);
  CHECK(osMessageQueueGet(q, &v, NULL, osWaitForever) == osOK && v == 5);

  CHECK(osMessageQueuePut(q, &a, 0, 0) == osOK);
  CHECK(osMessageQueueReset(q) == osOK);
  CHECK(osMessageQueueGetCount(q) == 0);

  CHECK(osMessageQueuePut(q, NULL, 0, 0) == osErrorParameter);
  CHECK(osMessageQueueGet(NULL, &v, NULL, 0) == osErrorParameter);
  CHECK(osMessageQueueNew(0, 4, NULL) == NULL);
  CHECK(osMessageQueueNew(4, 0, NULL) == NULL);

  /* Deleting the queue releases a blocked reader with osErrorResource. */
  osThreadId_t g = osThreadNew(doomed_getter, NULL, NULL);
  WAIT_UNTIL(osThreadGetState(g) == osThreadBlocked);
  CHECK(osThreadGetState(g) == osThreadBlocked);
  CHECK(osMessageQueueDelete(q) == osOK);
  WAIT_UNTIL(atomic_load(&getter_status) != 1);
  CHECK(atomic_load(&getter_status) == osErrorResource);
  finish("queue_timeout");
}

/* ---- Mutexes --------------------------------------------------------------- */

static osMutexId_t m;
static long counter;
static osSemaphoreId_t done;

static void incrementer(void *arg) {
  (void)arg;
  for (int i = 0; i < 100000; i++) {
    osMutexAcquire(m, osWaitForever);
    counter++;
    osMutexRelease(m);
  }
  osSemaphoreRelease(done);
}

static atomic_int holder_phase;
static void holder(void *arg) {
  (void)arg;
  CHECK(osMutexAcquire(m, 0) == osOK);
  atomic_store(&holder_phase, 1);
  while (atomic_load(&holder_phase) != 2) {
    osDelay(1);
  }
  /* Returns holding m: terminating releases it. */
}

static void holder_forever(void *arg) {
  (void)arg;
  CHECK(osMutexAcquire(m, 0) == osOK);
  osDelay(osWaitForever);
}

void case_mutex(void) {
  m = osMutexNew(&(osMutexAttr_t){.name = "m"});
  done = osSemaphoreNew(2, 0, NULL);
  CHECK(m != NULL && done != NULL);
  CHECK(strcmp(osMutexGetName(m), "m") == 0);
  osThreadNew(incrementer, NULL, NULL);
  osThreadNew(incrementer, NULL, NULL);
  CHECK(osSemaphoreAcquire(done, 20000) == osOK);
  CHECK(osSemaphoreAcquire(done, 20000) == osOK);
  CHECK(counter == 200000);

  /* Not recursive: the owner cannot take it twice. */
  CHECK(osMutexAcquire(m, 0) == osOK);
  CHECK(osMutexGetOwner(m) == osThreadGetId());
  CHECK(osMutexAcquire(m, 0) == osErrorResource);
  CHECK(osMutexRelease(m) == osOK);
  CHECK(osMutexRelease(m) == osErrorResource);
  CHECK(osMutexGetOwner(m) == NULL);

  osMutexId_t r = osMutexNew(&(osMutexAttr_t){.attr_bits = osMutexRecursive});
  CHECK(osMutexAcquire(r, 0) == osOK);
  CHECK(osMutexAcquire(r, 0) == osOK);
  CHECK(osMutexRelease(r) == osOK);
  CHECK(osMutexRelease(r) == osOK);
  CHECK(osMutexRelease(r) == osErrorResource);
  CHECK(osMutexDelete(r) == osOK);

  /* Held by another thread: try fails, timed wait times out, and the
   * holder's end releases it. */
  osThreadId_t h = osThreadNew(holder, NULL, &(osThreadAttr_t){.attr_bits = osThreadJoinable});
  while (atomic_load(&holder_phase) != 1) {
    osDelay(1);
  }
  CHECK(osMutexGetOwner(m) == h);
  CHECK(osMutexAcquire(m, 0) == osErrorResource);
  CHECK(osMutexRelease(m) == osErrorResource);
  double t0 = now_ms();
  CHECK(osMutexAcquire(m, 40) == osErrorTimeout);
  CHECK(now_ms() - t0 >= 39.0);
  atomic_store(&holder_phase, 2);
  CHECK(osThreadJoin(h) == osOK);
  CHECK(osMutexAcquire(m, 1000) == osOK);
  CHECK(osMutexRelease(m) == osOK);

  /* osThreadTerminate releases what the terminated thread holds. */
  h = osThreadNew(holder_forever, NULL, &(osThreadAttr_t){.attr_bits = osThreadJoinable});
  WAIT_UNTIL(osMutexGetOwner(m) == h);
  CHECK(osMutexGetOwner(m) == h);
  CHECK(osThreadTerminate(h) == osOK);
  CHECK(osThreadJoin(h) == osOK);
  CHECK(osMutexAcquire(m, 1000) == osOK);
  CHECK(osMutexRelease(m) == osOK);
  CHECK(osMutexDelete(m) == osOK);
  CHECK(osMutexAcquire(NULL, 0) == osErrorParameter);
  finish("mutex");
}

/* ---- Semaphores ------------------------------------------------------------ */

static osSemaphoreId_t s;
static void late_releaser(void *arg) {
  (void)arg;
  osDelay(30);
  osSemaphoreRelease(s);
}

static osStatus_t sem_isr[2];
static void *handler_sem(void *arg) {
  (void)arg;
  in_handler = 1;
  sem_isr[0] = osSemaphoreRelease(s);
  sem_isr[1] = osSemaphoreAcquire(s, 10);
  return NULL;
}

void case_semaphore(void) {
  CHECK(osSemaphoreNew(0, 0, NULL) == NULL);
  CHECK(osSemaphoreNew(1, 2, NULL) == NULL);
  s = osSemaphoreNew(3, 1, &(osSemaphoreAttr_t){.name = "s"});
  CHECK(s != NULL && strcmp(osSemaphoreGetName(s), "s") == 0);
  CHECK(osSemaphoreGetCount(s) == 1);
  CHECK(osSemaphoreAcquire(s, 0) == osOK);
  CHECK(osSemaphoreAcquire(s, 0) == osErrorResource);
  double t0 = now_ms();
  CHECK(osSemaphoreAcquire(s, 40) == osErrorTimeout);
  CHECK(now_ms() - t0 >= 39.0);

  osThreadNew(late_releaser, NULL, NULL);
  CHECK(osSemaphoreAcquire(s, 5000) == osOK);

  CHECK(osSemaphoreRelease(s) == osOK);
  CHECK(osSemaphoreRelease(s) == osOK);
  CHECK(osSemaphoreRelease(s) == osOK);
  CHECK(osSemaphoreRelease(s) == osErrorResource); /* at max_count */
  CHECK(osSemaphoreGetCount(s) == 3);

  CHECK(osSemaphoreAcquire(s, 0) == osOK);
  run_as_handler(handler_sem, NULL);
  CHECK(sem_isr[0] == osOK);
  CHECK(sem_isr[1] == osErrorParameter);
  CHECK(osSemaphoreGetCount(s) == 3);
  CHECK(osSemaphoreDelete(s) == osOK);
  finish("semaphore");
}

/* ---- Event flags ----------------------------------------------------------- */

static osEventFlagsId_t ef;
static atomic_uint wait_result[2] = {0, 0};
static atomic_int wait_returned[2];

static void any_waiter(void *arg) {
  (void)arg;
  atomic_store(&wait_result[0], osEventFlagsWait(ef, 0x3, osFlagsWaitAny, osWaitForever));
  atomic_store(&wait_returned[0], 1);
}

static void all_waiter(void *arg) {
  (void)arg;
  atomic_store(&wait_result[1], osEventFlagsWait(ef, 0x3, osFlagsWaitAll, osWaitForever));
  atomic_store(&wait_returned[1], 1);
}

static void race_waiter(void *arg) {
  int i = (int)(intptr_t)arg;
  atomic_store(&wait_result[i], osEventFlagsWait(ef, 0x10, osFlagsWaitAny, osWaitForever));
  atomic_store(&wait_returned[i], 1);
}

static uint32_t ef_isr[2];
static void *handler_flags(void *arg) {
  (void)arg;
  in_handler = 1;
  ef_isr[0] = osEventFlagsSet(ef, 0x100);
  ef_isr[1] = osEventFlagsWait(ef, 0x100, osFlagsWaitAny, 10);
  return NULL;
}

void case_eventflags(void) {
  ef = osEventFlagsNew(&(osEventFlagsAttr_t){.name = "ef"});
  CHECK(ef != NULL && strcmp(osEventFlagsGetName(ef), "ef") == 0);
  CHECK(osEventFlagsGet(ef) == 0);

  /* Wait any: one of the bits is enough; it is consumed. */
  osThreadId_t w = osThreadNew(any_waiter, NULL, NULL);
  WAIT_UNTIL(osThreadGetState(w) == osThreadBlocked);
  CHECK(!atomic_load(&wait_returned[0]));
  osEventFlagsSet(ef, 0x2);
  wait_for(&wait_returned[0]);
  CHECK(atomic_load(&wait_result[0]) == 0x2);
  CHECK(osEventFlagsGet(ef) == 0);

  /* Wait all: one bit is not enough. */
  w = osThreadNew(all_waiter, NULL, NULL);
  WAIT_UNTIL(osThreadGetState(w) == osThreadBlocked);
  osEventFlagsSet(ef, 0x1);
  sleep_ms(40); /* a window for a wrong wake-up; a correct one never comes */
  CHECK(!atomic_load(&wait_returned[1]));
  CHECK(osEventFlagsGet(ef) == 0x1);
  osEventFlagsSet(ef, 0x6);
  wait_for(&wait_returned[1]);
  CHECK(atomic_load(&wait_result[1]) == 0x7); /* the flags before clearing */
  CHECK(osEventFlagsGet(ef) == 0x4);          /* only the awaited bits go */

  /* NoClear, try, timeout. */
  CHECK(osEventFlagsWait(ef, 0x4, osFlagsWaitAny | osFlagsNoClear, 0) == 0x4);
  CHECK(osEventFlagsGet(ef) == 0x4);
  CHECK(osEventFlagsWait(ef, 0x4, osFlagsWaitAny, 0) == 0x4);
  CHECK(osEventFlagsGet(ef) == 0);
  CHECK(osEventFlagsWait(ef, 0x8, osFlagsWaitAny, 0) == osFlagsErrorResource);
  double t0 = now_ms();
  CHECK(osEventFlagsWait(ef, 0x8, osFlagsWaitAny, 40) == osFlagsErrorTimeout);
  CHECK(now_ms() - t0 >= 39.0);

  /* Two waiters for one bit: one Set satisfies exactly one of them (the
   * bit is consumed); a second Set releases the other. */
  atomic_store(&wait_returned[0], 0);
  atomic_store(&wait_returned[1], 0);
  osThreadId_t w0 = osThreadNew(race_waiter, (void *)(intptr_t)0, NULL);
  osThreadId_t w1 = osThreadNew(race_waiter, (void *)(intptr_t)1, NULL);
  WAIT_UNTIL(osThreadGetState(w0) == osThreadBlocked && osThreadGetState(w1) == osThreadBlocked);
  osEventFlagsSet(ef, 0x10);
  WAIT_UNTIL(atomic_load(&wait_returned[0]) || atomic_load(&wait_returned[1]));
  sleep_ms(40); /* a window for the second, wrong, wake-up */
  CHECK(atomic_load(&wait_returned[0]) + atomic_load(&wait_returned[1]) == 1);
  CHECK(osEventFlagsGet(ef) == 0);
  osEventFlagsSet(ef, 0x10);
  wait_for(&wait_returned[0]);
  wait_for(&wait_returned[1]);
  CHECK(atomic_load(&wait_result[0]) == 0x10 && atomic_load(&wait_result[1]) == 0x10);
  CHECK(osEventFlagsGet(ef) == 0);

  CHECK(osEventFlagsClear(ef, 0) == 0);
  CHECK(osEventFlagsSet(ef, 0x30) == 0x30);
  CHECK(osEventFlagsClear(ef, 0x10) == 0x30);
  CHECK(osEventFlagsGet(ef) == 0x20);
  CHECK(osEventFlagsSet(ef, 0x80000000U) == osFlagsErrorParameter);
  CHECK(osEventFlagsWait(ef, 0, osFlagsWaitAny, 0) == osFlagsErrorParameter);
  CHECK(osEventFlagsSet(NULL, 1) == osFlagsErrorParameter);

  run_as_handler(handler_flags, NULL);
  CHECK(ef_isr[0] == 0x120);
  CHECK(ef_isr[1] == osFlagsErrorParameter);
  CHECK(osEventFlagsDelete(ef) == osOK);
  finish("eventflags");
}

