/*
 * hal_flags.c — the flag-clearing macros of the TIM and UART headers:
 *   tim:  __HAL_TIM_CLEAR_FLAG/_CLEAR_IT of one flag never wipe UIF, which
 *         a timer thread sets at the same time (atomically);
 *   uart: __HAL_UART_CLEAR_FLAG takes ICR clear bits and clears the ISR
 *         flags they name (TXFECF, bit 5, clears TXFE, bit 23, not RXNE).
 * Run with the case name; prints "PASS <case>" and exits 0, or what failed.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "stm32u5xx_hal.h"

static TIM_TypeDef tim;
static TIM_HandleTypeDef htim = {.Instance = &tim};
static volatile int stop;

#define ROUNDS 20000000

/* The timer thread's part: set UIF, see that it is still set (nothing but
 * this thread clears it), clear it. */
static void *setter(void *arg) {
  long *lost = arg;
  for (int i = 0; i < ROUNDS; i++) {
    __atomic_or_fetch(&tim.SR, TIM_SR_UIF, __ATOMIC_SEQ_CST);
    if ((__atomic_load_n(&tim.SR, __ATOMIC_SEQ_CST) & TIM_SR_UIF) == 0) {
      (*lost)++;
    }
    __atomic_and_fetch(&tim.SR, ~TIM_SR_UIF, __ATOMIC_SEQ_CST);
  }
  stop = 1;
  return NULL;
}

static int case_tim(void) {
  long lost = 0;
  pthread_t th;
  if (pthread_create(&th, NULL, setter, &lost) != 0) {
    printf("FAIL: pthread_create\n");
    return 1;
  }
  while (!stop) {
    __HAL_TIM_CLEAR_FLAG(&htim, TIM_FLAG_TRIGGER);
    __HAL_TIM_CLEAR_IT(&htim, TIM_IT_TRIGGER);
  }
  pthread_join(th, NULL);
  if (lost != 0) {
    printf("FAIL: a clear of TRIGGER wiped UIF %ld times in %d rounds\n", lost, ROUNDS);
    return 1;
  }
  return 0;
}

static int case_uart(void) {
  USART_TypeDef u;
  memset(&u, 0, sizeof u);
  UART_HandleTypeDef h = {.Instance = &u};
  int bad = 0;
  u.ISR = UART_FLAG_RXNE | UART_FLAG_TXFE | UART_FLAG_TC;
  __HAL_UART_CLEAR_FLAG(&h, UART_CLEAR_TXFECF);
  if (u.ISR != (UART_FLAG_RXNE | UART_FLAG_TC)) {
    printf("FAIL: CLEAR_FLAG(TXFECF) left ISR %#x, want RXNE|TC\n", (unsigned)u.ISR);
    bad = 1;
  }
  u.ISR = UART_FLAG_RXNE | UART_FLAG_TXFE;
  __HAL_UART_CLEAR_TXFECF(&h);
  if (u.ISR != UART_FLAG_RXNE) {
    printf("FAIL: CLEAR_TXFECF left ISR %#x, want RXNE\n", (unsigned)u.ISR);
    bad = 1;
  }
  u.ISR = UART_FLAG_ORE | UART_FLAG_IDLE | UART_FLAG_TC | UART_FLAG_WUF | UART_FLAG_RXNE;
  __HAL_UART_CLEAR_FLAG(&h, UART_CLEAR_OREF | UART_CLEAR_IDLEF | UART_CLEAR_TCF | UART_CLEAR_WUF);
  __HAL_UART_CLEAR_IT(&h, UART_CLEAR_PEF);
  if (u.ISR != UART_FLAG_RXNE) {
    printf("FAIL: CLEAR_FLAG(ORE|IDLE|TC|WU) left ISR %#x, want RXNE\n", (unsigned)u.ISR);
    bad = 1;
  }
  return bad;
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "";
  int bad;
  if (strcmp(name, "tim") == 0) {
    bad = case_tim();
  } else if (strcmp(name, "uart") == 0) {
    bad = case_uart();
  } else {
    printf("FAIL: unknown case %s\n", name);
    return 2;
  }
  if (bad) {
    return 1;
  }
  printf("PASS %s\n", name);
  return 0;
}
