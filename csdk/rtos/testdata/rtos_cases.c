/*
 * rtos_cases.c — behaviour tests of the CMSIS-RTOS2 stand-in, run by
 * rtos_test.go (with rtos_objects.c). `./rtos_cases <case>` runs one case on
 * an RTOS thread after osKernelStart and exits 0 if every check passed
 * ("PASS <case>"), 1 otherwise (one "FAIL file:line: …" line per failed
 * check). This file: kernel, threads, delays, timers and main.
 *
 * The program plays libmvnet's part for interrupt context: it defines
 * mvnet_in_isr() to report a thread-local flag, and a "handler" thread sets
 * the flag, as libmvnet's interrupt thread does while a handler runs.
 */
#include "rtos_cases.h"

_Thread_local int in_handler;
int mvnet_in_isr(void) {
  return in_handler;
}

atomic_int failures;

double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

void finish(const char *name) {
  if (atomic_load(&failures) == 0) {
    printf("PASS %s\n", name);
  }
  fflush(stdout);
  exit(atomic_load(&failures) == 0 ? 0 : 1);
}

void run_as_handler(void *(*fn)(void *), void *arg) {
  pthread_t t;
  pthread_create(&t, NULL, fn, arg);
  pthread_join(t, NULL);
}

void wait_for(atomic_int *flag) {
  WAIT_UNTIL(atomic_load(flag));
}

/* ---- Delays ---------------------------------------------------------------- */

static void case_delay(void) {
  CHECK(osKernelGetTickFreq() == 1000);
  double t0 = now_ms();
  uint32_t k0 = osKernelGetTickCount();
  CHECK(osDelay(50) == osOK);
  /* Lower bounds only: a loaded machine may wait any amount longer. */
  CHECK(now_ms() - t0 >= 49.9);
  CHECK(osKernelGetTickCount() - k0 >= 50);
  CHECK(osDelay(0) == osOK);

  /* t0 is taken before the tick is read, so the tick count at t0 is at
   * most tick: reaching tick + 40 takes more than 39 ms from t0. */
  t0 = now_ms();
  uint32_t tick = osKernelGetTickCount();
  CHECK(osDelayUntil(tick + 40) == osOK);
  CHECK(osKernelGetTickCount() >= tick + 40);
  CHECK(now_ms() - t0 >= 39.0);
  CHECK(osDelayUntil(osKernelGetTickCount()) == osErrorParameter);
  CHECK(osDelayUntil(osKernelGetTickCount() - 5) == osErrorParameter);

  /* The periodic pattern keeps its phase: 5 periods of 20 ticks. A delay
   * on a loaded machine may overrun a period, and then osDelayUntil of a
   * tick already past is osErrorParameter, as in RTX: either is right. */
  t0 = now_ms();
  tick = osKernelGetTickCount();
  for (int i = 0; i < 5; i++) {
    tick += 20;
    osStatus_t st = osDelayUntil(tick);
    CHECK(st == osOK || (st == osErrorParameter && osKernelGetTickCount() >= tick));
  }
  CHECK(osKernelGetTickCount() >= tick);
  CHECK(now_ms() - t0 >= 99.0);

  /* Ticks and the sys timer only go forward. */
  uint32_t last = osKernelGetTickCount();
  uint32_t st0 = osKernelGetSysTimerCount();
  int monotonic = 1;
  for (int i = 0; i < 100000; i++) {
    uint32_t now = osKernelGetTickCount();
    if (now < last) {
      monotonic = 0;
    }
    last = now;
  }
  CHECK(monotonic);
  CHECK(osKernelGetSysTimerFreq() == 160000000U);
  CHECK(osKernelGetSysTimerCount() != st0);
  finish("delay");
}

/* ---- Timers ---------------------------------------------------------------- */

static atomic_int periodic_fired, once_fired, early_fired, self_deleting_fired;
static atomic_int callback_thread_ok = 1;
static osThreadId_t case_thread;

static void on_periodic(void *arg) {
  CHECK(arg == (void *)&periodic_fired);
  if (osThreadGetId() == NULL || osThreadGetId() == case_thread) {
    atomic_store(&callback_thread_ok, 0);
  }
  atomic_fetch_add(&periodic_fired, 1);
}

static void on_once(void *arg) {
  (void)arg;
  atomic_fetch_add(&once_fired, 1);
}

static void on_early(void *arg) {
  (void)arg;
  atomic_fetch_add(&early_fired, 1);
}

static osTimerId_t self_deleting;
static void on_self_delete(void *arg) {
  (void)arg;
  atomic_fetch_add(&self_deleting_fired, 1);
  CHECK(osTimerDelete(self_deleting) == osOK);
}

static osTimerId_t early_timer; /* started before osKernelStart */
static atomic_int early_before_start = -1;

static void case_timers(void) {
  /* Nothing fired before the kernel started (checked in main), and it does
   * fire now. */
  CHECK(atomic_load(&early_before_start) == 0);
  WAIT_UNTIL(atomic_load(&early_fired) != 0);
  CHECK(atomic_load(&early_fired) == 1);

  osTimerId_t per = osTimerNew(on_periodic, osTimerPeriodic, &periodic_fired, &(osTimerAttr_t){.name = "per"});
  osTimerId_t once = osTimerNew(on_once, osTimerOnce, NULL, NULL);
  CHECK(per != NULL && once != NULL);
  CHECK(strcmp(osTimerGetName(per), "per") == 0);
  CHECK(osTimerIsRunning(per) == 0);
  CHECK(osTimerStart(per, 0) == osErrorParameter);
  CHECK(osTimerStop(per) == osErrorResource);
  CHECK(osTimerNew(NULL, osTimerOnce, NULL, NULL) == NULL);

  double t0 = now_ms();
  CHECK(osTimerStart(per, 20) == osOK);
  CHECK(osTimerStart(once, 30) == osOK);
  CHECK(osTimerIsRunning(per) == 1);
  WAIT_UNTIL(atomic_load(&periodic_fired) >= 5 && atomic_load(&once_fired) >= 1);
  /* The k-th expiry of a 20-tick period comes 20·k ms after the start at
   * the earliest: a lower bound, however late the callbacks run. */
  int n = atomic_load(&periodic_fired);
  CHECK(n >= 5);
  CHECK(now_ms() - t0 >= 20.0 * n - 1.0);
  CHECK(atomic_load(&once_fired) == 1);
  CHECK(osTimerIsRunning(once) == 0);
  CHECK(atomic_load(&callback_thread_ok));

  /* After Stop, at most the callback already under way runs. */
  CHECK(osTimerStop(per) == osOK);
  CHECK(osTimerIsRunning(per) == 0);
  n = atomic_load(&periodic_fired);
  sleep_ms(150); /* seven periods in which a running timer would fire */
  CHECK(atomic_load(&periodic_fired) <= n + 1);

  /* A one-shot can be started again. */
  CHECK(osTimerStart(once, 10) == osOK);
  WAIT_UNTIL(atomic_load(&once_fired) >= 2);
  CHECK(atomic_load(&once_fired) == 2);

  /* A periodic timer deleted in its own callback fires once. */
  self_deleting = osTimerNew(on_self_delete, osTimerPeriodic, NULL, NULL);
  CHECK(osTimerStart(self_deleting, 10) == osOK);
  WAIT_UNTIL(atomic_load(&self_deleting_fired) >= 1);
  sleep_ms(50); /* five periods in which a live timer would fire again */
  CHECK(atomic_load(&self_deleting_fired) == 1);
  CHECK(atomic_load(&once_fired) == 2);

  CHECK(osTimerDelete(per) == osOK);
  CHECK(osTimerDelete(once) == osOK);
  CHECK(osTimerDelete(early_timer) == osOK);
  finish("timers");
}

/* ---- Threads and thread flags ---------------------------------------------- */

static atomic_int ran_before_start;
static void early_thread(void *arg) {
  (void)arg;
  atomic_store(&ran_before_start, osKernelGetState() == osKernelRunning ? 2 : 1);
}

static osThreadId_t seen_id;
static void identify(void *arg) {
  (void)arg;
  seen_id = osThreadGetId();
  CHECK(osThreadGetState(seen_id) == osThreadRunning);
}

static void sleeper(void *arg) {
  (void)arg;
  osDelay(osWaitForever);
}

static void exiter(void *arg) {
  (void)arg;
  osThreadExit();
}

static uint32_t flag_result;
static void flag_waiter(void *arg) {
  (void)arg;
  flag_result = osThreadFlagsWait(0x5, osFlagsWaitAll, osWaitForever);
}

static osThreadId_t flag_target;
static uint32_t isr_thread_flag;
static void *handler_thread_flag(void *arg) {
  (void)arg;
  in_handler = 1;
  isr_thread_flag = osThreadFlagsSet(flag_target, 0x4);
  return NULL;
}

static osMessageQueueId_t tq;
static osEventFlagsId_t tef;
static void queue_blocked(void *arg) {
  (void)arg;
  uint32_t v;
  osMessageQueueGet(tq, &v, NULL, osWaitForever);
}

static void flags_blocked(void *arg) {
  (void)arg;
  osEventFlagsWait(tef, 0x1, osFlagsWaitAny, osWaitForever);
}

/* Terminates a thread blocked on tq or tef; deleting the object afterwards
 * would hang if the thread were still registered as its waiter. */
static void check_terminate_blocked(osThreadFunc_t fn) {
  osThreadId_t b = osThreadNew(fn, NULL, &(osThreadAttr_t){.attr_bits = osThreadJoinable});
  WAIT_UNTIL(osThreadGetState(b) == osThreadBlocked);
  CHECK(osThreadGetState(b) == osThreadBlocked);
  CHECK(osThreadTerminate(b) == osOK);
  CHECK(osThreadJoin(b) == osOK);
  CHECK(osThreadGetState(b) == osThreadTerminated);
}

static void case_threads(void) {
  /* The thread created before osKernelStart ran after it (main checked
   * that it had not run before). */
  wait_for(&ran_before_start);
  CHECK(atomic_load(&ran_before_start) == 2);

  const osThreadAttr_t attr = {.name = "identify", .attr_bits = osThreadJoinable, .stack_size = 512,
                               .priority = osPriorityAboveNormal};
  osThreadId_t t = osThreadNew(identify, NULL, &attr);
  CHECK(t != NULL);
  CHECK(strcmp(osThreadGetName(t), "identify") == 0);
  CHECK(osThreadGetStackSize(t) == 512);
  CHECK(osThreadGetPriority(t) == osPriorityAboveNormal);
  CHECK(osThreadJoin(t) == osOK);
  CHECK(seen_id == t);
  CHECK(osThreadGetState(t) == osThreadTerminated);
  CHECK(osThreadJoin(t) == osErrorResource);

  osThreadId_t sl = osThreadNew(sleeper, NULL, &(osThreadAttr_t){.attr_bits = osThreadJoinable});
  WAIT_UNTIL(osThreadGetState(sl) == osThreadBlocked);
  CHECK(osThreadGetState(sl) == osThreadBlocked);
  CHECK(osThreadSetPriority(sl, osPriorityLow) == osOK);
  CHECK(osThreadGetPriority(sl) == osPriorityLow);
  CHECK(osThreadSetPriority(sl, (osPriority_t)99) == osErrorParameter);
  CHECK(osThreadTerminate(sl) == osOK);
  CHECK(osThreadJoin(sl) == osOK);
  CHECK(osThreadGetState(sl) == osThreadTerminated);
  CHECK(osThreadTerminate(sl) == osErrorResource);

  tq = osMessageQueueNew(1, sizeof(uint32_t), NULL);
  check_terminate_blocked(queue_blocked);
  CHECK(osMessageQueueDelete(tq) == osOK);
  tef = osEventFlagsNew(NULL);
  check_terminate_blocked(flags_blocked);
  CHECK(osEventFlagsDelete(tef) == osOK);

  osThreadId_t ex = osThreadNew(exiter, NULL, &(osThreadAttr_t){.attr_bits = osThreadJoinable});
  CHECK(osThreadJoin(ex) == osOK);
  osThreadId_t det = osThreadNew(sleeper, NULL, NULL);
  CHECK(osThreadJoin(det) == osErrorResource);
  CHECK(osThreadDetach(det) == osErrorResource);

  osThreadId_t list[16];
  uint32_t n = osThreadEnumerate(list, 16);
  CHECK(n == osThreadGetCount());
  int found_self = 0;
  for (uint32_t i = 0; i < n; i++) {
    found_self |= list[i] == osThreadGetId();
  }
  CHECK(found_self);
  CHECK(osThreadYield() == osOK);
  CHECK(osThreadNew(NULL, NULL, NULL) == NULL);
  CHECK(osThreadGetState(NULL) == osThreadError);

  /* Thread flags, from a thread and from a handler. */
  flag_target = osThreadNew(flag_waiter, NULL, &(osThreadAttr_t){.attr_bits = osThreadJoinable});
  WAIT_UNTIL(osThreadGetState(flag_target) == osThreadBlocked);
  CHECK(osThreadFlagsSet(flag_target, 0x1) == 0x1);
  run_as_handler(handler_thread_flag, NULL);
  CHECK(osThreadJoin(flag_target) == osOK);
  CHECK(flag_result == 0x5);
  CHECK(osThreadFlagsSet(NULL, 1) == osFlagsErrorParameter);
  CHECK(osThreadFlagsWait(0x1, osFlagsWaitAny, 0) == osFlagsErrorResource);
  CHECK(osThreadFlagsSet(osThreadGetId(), 0x3) == 0x3);
  CHECK(osThreadFlagsGet() == 0x3);
  CHECK(osThreadFlagsClear(0x1) == 0x3);
  CHECK(osThreadFlagsWait(0x2, osFlagsWaitAny, 10) == 0x2);
  CHECK(osThreadFlagsGet() == 0);
  finish("threads");
}

/* ---- Kernel ---------------------------------------------------------------- */

static osKernelState_t state_before_init = osKernelError, state_after_init = osKernelError;

static void case_kernel(void) {
  CHECK(state_before_init == osKernelInactive);
  CHECK(state_after_init == osKernelReady);
  CHECK(osKernelGetState() == osKernelRunning);
  CHECK(osKernelStart() == osError);
  CHECK(osKernelInitialize() == osError);
  CHECK(osKernelLock() == 0);
  CHECK(osKernelGetState() == osKernelLocked);
  CHECK(osKernelLock() == 1);
  CHECK(osKernelUnlock() == 1);
  CHECK(osKernelGetState() == osKernelRunning);
  CHECK(osKernelUnlock() == 0);
  CHECK(osKernelRestoreLock(1) == 1);
  CHECK(osKernelGetState() == osKernelLocked);
  CHECK(osKernelRestoreLock(0) == 0);
  CHECK(osKernelGetState() == osKernelRunning);
  osVersion_t v;
  char id[64];
  CHECK(osKernelGetInfo(&v, id, sizeof id) == osOK);
  CHECK(v.api == 20010003U);
  CHECK(strlen(id) > 0);
  finish("kernel");
}

/* ---- osKernelStart parks main for good ------------------------------------ */

static void case_park(void) {
  /* Every application thread ends here; the process must stay up (the Go
   * test kills it). */
  printf("parked\n");
  fflush(stdout);
}

/* ---- Tick base shared with the HAL (built with the HAL sources) ------------ */

#ifdef WITH_HAL
#include "stm32u5xx_hal.h"
static void case_hal_ticks(void) {
  int agree = 1;
  for (int i = 0; i < 200; i++) {
    uint32_t a = HAL_GetTick();
    uint32_t b = osKernelGetTickCount();
    uint32_t c = HAL_GetTick();
    if (b < a || b > c) {
      agree = 0;
    }
    sleep_ms(1);
  }
  CHECK(agree);
  finish("hal_ticks");
}
#endif

/* ---- main ------------------------------------------------------------------ */

struct named_case {
  const char *name;
  void (*fn)(void);
};

static const struct named_case cases[] = {
    {"queue_isr", case_queue_isr},   {"queue_timeout", case_queue_timeout}, {"delay", case_delay},
    {"timers", case_timers},         {"mutex", case_mutex},                 {"semaphore", case_semaphore},
    {"eventflags", case_eventflags}, {"threads", case_threads},             {"kernel", case_kernel},
    {"park", case_park},
#ifdef WITH_HAL
    {"hal_ticks", case_hal_ticks},
#endif
};

static void run_case(void *arg) {
  case_thread = osThreadGetId();
  ((const struct named_case *)arg)->fn();
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 2) {
    fprintf(stderr, "usage: %s <case>\n", argv[0]);
    return 2;
  }
  const struct named_case *c = NULL;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (strcmp(cases[i].name, argv[1]) == 0) {
      c = &cases[i];
    }
  }
  if (c == NULL) {
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
  }
  state_before_init = osKernelGetState();
  CHECK(osKernelInitialize() == osOK);
  state_after_init = osKernelGetState();

  /* Created before the start: must not run (or fire) until osKernelStart. */
  osThreadNew(early_thread, NULL, NULL);
  early_timer = osTimerNew(on_early, osTimerOnce, NULL, NULL);
  osTimerStart(early_timer, 5);
  sleep_ms(40);
  atomic_store(&early_before_start, atomic_load(&early_fired));
  CHECK(atomic_load(&ran_before_start) == 0);

  CHECK(osThreadNew(run_case, (void *)c, &(osThreadAttr_t){.name = c->name}) != NULL);
  osKernelStart();
  printf("FAIL osKernelStart returned\n");
  return 1;
}
