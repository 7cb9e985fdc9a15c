/*
 * A task's critical section keeps interrupt handlers out, as
 * taskENTER_CRITICAL masks interrupts on the device: TIM7's handler, pended
 * inside one, runs only after the task leaves it, also when the task
 * disables that IRQ (or all interrupts) inside, which must not deadlock
 * against a handler waiting in taskENTER_CRITICAL_FROM_ISR. Prints
 * "failures=N" and exits with N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "FreeRTOS.h"
#include "stm32u5xx_hal.h"
#include "task.h"

static int failures;
#define CHECK(cond)                                  \
  do {                                               \
    if (!(cond)) {                                   \
      printf("FAIL line %d: %s\n", __LINE__, #cond); \
      failures++;                                    \
    }                                                \
  } while (0)

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

static volatile int in_crit, started, seen_inside, ran;

void TIM7_IRQHandler(void) {
  started = 1;
  if (in_crit) {
    seen_inside = 1; /* the handler ran inside the task's critical section */
  }
  UBaseType_t m = taskENTER_CRITICAL_FROM_ISR();
  ran++;
  taskEXIT_CRITICAL_FROM_ISR(m);
}

/* The window a handler that ignored the critical section would start in:
 * ends early when it starts. */
static void window(uint64_t ms) {
  uint64_t end = mono_ms() + ms;
  while (!started && mono_ms() < end) {
  }
}

/* Waits (polling, generous deadline) until the handler has run n times. */
static int ran_reaches(int n) {
  uint64_t end = mono_ms() + 30000U;
  while (ran < n && mono_ms() < end) {
    vTaskDelay(1);
  }
  return ran >= n;
}

static void checks(void *arg) {
  (void)arg;
  HAL_NVIC_EnableIRQ(TIM7_IRQn);

  /* A handler pended inside a critical section runs after it. */
  taskENTER_CRITICAL();
  in_crit = 1;
  NVIC_SetPendingIRQ(TIM7_IRQn);
  window(300);
  CHECK(!started);
  in_crit = 0;
  taskEXIT_CRITICAL();
  CHECK(ran_reaches(1));

  /* Nested: the outermost exit lets it in. */
  started = 0;
  taskENTER_CRITICAL();
  taskENTER_CRITICAL();
  in_crit = 1;
  NVIC_SetPendingIRQ(TIM7_IRQn);
  taskEXIT_CRITICAL();
  window(200);
  CHECK(!started);
  in_crit = 0;
  taskEXIT_CRITICAL();
  CHECK(ran_reaches(2));

  /* The FROM_ISR mask taken by a task masks as well. */
  started = 0;
  UBaseType_t m = taskENTER_CRITICAL_FROM_ISR();
  in_crit = 1;
  NVIC_SetPendingIRQ(TIM7_IRQn);
  window(200);
  CHECK(!started);
  in_crit = 0;
  taskEXIT_CRITICAL_FROM_ISR(m);
  CHECK(ran_reaches(3));

  /* Disabling the IRQ, then all interrupts, inside a critical section while
   * the handler is pended: no deadlock, and it runs once re-enabled. */
  started = 0;
  taskENTER_CRITICAL();
  in_crit = 1;
  NVIC_SetPendingIRQ(TIM7_IRQn);
  window(300);
  HAL_NVIC_DisableIRQ(TIM7_IRQn);
  taskDISABLE_INTERRUPTS();
  taskENABLE_INTERRUPTS();
  CHECK(!started);
  in_crit = 0;
  taskEXIT_CRITICAL();
  HAL_NVIC_EnableIRQ(TIM7_IRQn);
  CHECK(ran_reaches(4));

  CHECK(!seen_inside);
  printf("failures=%d\n", failures);
  fflush(stdout);
  exit(failures);
}

int main(void) {
  HAL_Init();
  if (xTaskCreate(checks, "checks", configMINIMAL_STACK_SIZE * 4, NULL, 3, NULL) != pdPASS) {
    printf("FAIL: xTaskCreate\n");
    return 1;
  }
  vTaskStartScheduler();
  printf("FAIL: vTaskStartScheduler returned\n");
  return 1;
}
