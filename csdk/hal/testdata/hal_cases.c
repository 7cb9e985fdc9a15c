/*
 * hal_cases.c — behaviour tests of the STM32U5 HAL stand-in, run by
 * hal_test.go. `./hal_cases <case>` runs one case and exits 0 if every check
 * passed (printing "PASS <case>" to stdout), 1 otherwise ("FAIL …" lines).
 * The trace goes to stderr when MVNET_TRACE_STDERR is set; the Go test reads
 * it there.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stm32u5xx_hal.h"

static int failures;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
      failures++;                                                          \
    }                                                                      \
  } while (0)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int finish(const char *name) {
  if (failures == 0) {
    printf("PASS %s\n", name);
  }
  fflush(stdout);
  return failures == 0 ? 0 : 1;
}

/* Application hooks, as a Microvisor application defines them. */
static int msp_init_calls, uart_msp_init_calls;
void HAL_MspInit(void) {
  msp_init_calls++;
}

void HAL_UART_MspInit(UART_HandleTypeDef *huart) {
  (void)huart;
  uart_msp_init_calls++;
  RCC_PeriphCLKInitTypeDef clk = {0};
  clk.PeriphClockSelection = RCC_PERIPHCLK_USART2;
  clk.Usart2ClockSelection = RCC_USART2CLKSOURCE_PCLK1;
  CHECK(HAL_RCCEx_PeriphCLKConfig(&clk) == HAL_OK);
  __HAL_RCC_GPIOD_CLK_ENABLE();
  GPIO_InitTypeDef pins = {0};
  pins.Pin = GPIO_PIN_5;
  pins.Mode = GPIO_MODE_AF_PP;
  pins.Pull = GPIO_NOPULL;
  pins.Speed = GPIO_SPEED_FREQ_HIGH;
  pins.Alternate = GPIO_AF7_USART2;
  HAL_GPIO_Init(GPIOD, &pins);
  __HAL_RCC_USART2_CLK_ENABLE();
}

uint32_t SECURE_SystemCoreClockUpdate(void) {
  return 80000000U; /* stands in for mvGetHClk() */
}

static int exti_raised[16];
void mvnet_gpio_exti_raise(uint32_t line) {
  exti_raised[line]++;
}

static int falling_calls, rising_calls;
void HAL_GPIO_EXTI_Falling_Callback(uint16_t pin) {
  CHECK(pin == GPIO_PIN_13);
  falling_calls++;
}

void HAL_GPIO_EXTI_Rising_Callback(uint16_t pin) {
  (void)pin;
  rising_calls++;
}

static int case_gpio(void) {
  CHECK(HAL_Init() == HAL_OK);
  __HAL_RCC_GPIOA_CLK_ENABLE();
  __HAL_RCC_GPIOC_CLK_ENABLE();

  /* The LED on PA5, set up as Microvisor's demos do. */
  HAL_GPIO_WritePin(GPIOA, GPIO_PIN_5, GPIO_PIN_RESET);
  GPIO_InitTypeDef led = {0};
  led.Pin = GPIO_PIN_5;
  led.Mode = GPIO_MODE_OUTPUT_PP;
  led.Pull = GPIO_PULLUP;
  led.Speed = GPIO_SPEED_FREQ_VERY_HIGH;
  HAL_GPIO_Init(GPIOA, &led);
  HAL_GPIO_WritePin(GPIOA, GPIO_PIN_5, GPIO_PIN_SET);
  CHECK(HAL_GPIO_ReadPin(GPIOA, GPIO_PIN_5) == GPIO_PIN_SET);
  HAL_GPIO_TogglePin(GPIOA, GPIO_PIN_5);
  CHECK(HAL_GPIO_ReadPin(GPIOA, GPIO_PIN_5) == GPIO_PIN_RESET);
  CHECK(HAL_GPIO_ReadPin(GPIOA, GPIO_PIN_5) == GPIO_PIN_RESET); /* unchanged: not traced again */
  HAL_GPIO_TogglePin(GPIOA, GPIO_PIN_5);
  CHECK((GPIOA->ODR & GPIO_PIN_5) != 0);

  /* A button on PC13: pulled up, pressed (low) by the outside world, with a
   * falling-edge interrupt. */
  GPIO_InitTypeDef button = {0};
  button.Pin = GPIO_PIN_13;
  button.Mode = GPIO_MODE_IT_FALLING;
  button.Pull = GPIO_PULLUP;
  HAL_GPIO_Init(GPIOC, &button);
  CHECK(HAL_GPIO_ReadPin(GPIOC, GPIO_PIN_13) == GPIO_PIN_SET);
  HAL_GPIO_WritePin(GPIOC, GPIO_PIN_13, GPIO_PIN_RESET); /* an input ignores writes */
  CHECK(HAL_GPIO_ReadPin(GPIOC, GPIO_PIN_13) == GPIO_PIN_SET);
  mvnet_gpio_set_input(GPIOC, GPIO_PIN_13, GPIO_PIN_RESET);
  CHECK(HAL_GPIO_ReadPin(GPIOC, GPIO_PIN_13) == GPIO_PIN_RESET);
  CHECK(exti_raised[13] == 1);
  HAL_GPIO_EXTI_IRQHandler(GPIO_PIN_13);
  CHECK(falling_calls == 1);
  HAL_GPIO_EXTI_IRQHandler(GPIO_PIN_13); /* pending bit was cleared */
  CHECK(falling_calls == 1);
  mvnet_gpio_set_input(GPIOC, GPIO_PIN_13, GPIO_PIN_SET); /* rising: not armed */
  CHECK(exti_raised[13] == 1);
  CHECK(rising_calls == 0);

  HAL_GPIO_DeInit(GPIOA, GPIO_PIN_5);
  HAL_GPIO_WritePin((GPIO_TypeDef *)&led, GPIO_PIN_1, GPIO_PIN_SET); /* not a port */
  CHECK(HAL_GPIO_ReadPin(NULL, GPIO_PIN_1) == GPIO_PIN_RESET);
  CHECK(msp_init_calls == 1);
  return finish("gpio");
}

static int ticking;

/* Calls HAL_IncTick while ticking is set, yielding between calls. */
static void *tick_source(void *arg) {
  (void)arg;
  while (__atomic_load_n(&ticking, __ATOMIC_SEQ_CST)) {
    HAL_IncTick();
    sched_yield();
  }
  return NULL;
}

static int case_tick(void) {
  CHECK(SystemCoreClock == 160000000U);
  CHECK(HAL_Init() == HAL_OK);
  CHECK(HAL_GetTickPrio() == TICK_INT_PRIORITY);
  CHECK(HAL_InitTick(16) == HAL_ERROR);
  CHECK(HAL_GetTickFreq() == HAL_TICK_FREQ_1KHZ);
  SystemCoreClockUpdate();
  CHECK(SystemCoreClock == 80000000U);
  CHECK(HAL_RCC_GetHCLKFreq() == 80000000U);
  CHECK(HAL_RCC_GetPCLK1Freq() == MVNET_HAL_CLOCK_HZ);

  uint32_t last = HAL_GetTick();
  int monotonic = 1;
  for (int i = 0; i < 200000; i++) {
    uint32_t t = HAL_GetTick();
    if (t < last) {
      monotonic = 0;
    }
    last = t;
  }
  CHECK(monotonic);
  CHECK(uwTick == last);

  uint32_t t0 = HAL_GetTick();
  double m0 = now_ms();
  HAL_Delay(100);
  /* Lower bounds only: a loaded machine may wait any amount longer. */
  CHECK(now_ms() - m0 >= 99.9);
  CHECK(HAL_GetTick() - t0 >= 100);
  HAL_Delay(0); /* returns (a wait that never ended would hang the case) */

  /* The first HAL_IncTick (an application time base) switches to the
   * counted tick, continued from the clock: it never goes back. */
  uint32_t before = HAL_GetTick();
  HAL_IncTick();
  uint32_t after = HAL_GetTick();
  double since_m0 = now_ms() - m0; /* read after the tick: bounds it */
  CHECK(after - before >= 1U);
  CHECK(after - before <= (uint32_t)since_m0 + 1U);
  CHECK(uwTick == after);
  CHECK(HAL_GetTick() == after); /* counted now: only HAL_IncTick moves it */
  HAL_IncTick();
  CHECK(HAL_GetTick() == after + 1U);

  /* HAL_Delay waits on the counted tick: Delay+1 increments, from a thread
   * standing in for the timer interrupt. */
  pthread_t ticker;
  __atomic_store_n(&ticking, 1, __ATOMIC_SEQ_CST);
  CHECK(pthread_create(&ticker, NULL, tick_source, NULL) == 0);
  uint32_t d0 = HAL_GetTick();
  HAL_Delay(20);
  uint32_t d1 = HAL_GetTick();
  __atomic_store_n(&ticking, 0, __ATOMIC_SEQ_CST);
  pthread_join(ticker, NULL);
  CHECK(d1 - d0 >= 21U);
  return finish("tick");
}

static int case_uart(void) {
  UART_HandleTypeDef huart;
  memset(&huart, 0, sizeof huart);
  const uint8_t early[] = "x";
  CHECK(HAL_UART_Transmit(&huart, early, 1, 100) == HAL_BUSY); /* not initialised */

  huart.Instance = USART2;
  huart.Init.BaudRate = 115200;
  huart.Init.WordLength = UART_WORDLENGTH_8B;
  huart.Init.StopBits = UART_STOPBITS_1;
  huart.Init.Parity = UART_PARITY_NONE;
  huart.Init.Mode = UART_MODE_TX_RX;
  huart.Init.HwFlowCtl = UART_HWCONTROL_NONE;
  CHECK(HAL_UART_Init(&huart) == HAL_OK);
  CHECK(uart_msp_init_calls == 1);
  CHECK(HAL_UART_GetState(&huart) == HAL_UART_STATE_READY);

  printf("before\n");
  const char msg[] = "hello \"uart\"\r\n";
  CHECK(HAL_UART_Transmit(&huart, (const uint8_t *)msg, (uint16_t)strlen(msg), 100) == HAL_OK);
  printf("after\n");
  CHECK(HAL_UART_Transmit(&huart, NULL, 4, 100) == HAL_ERROR);
  CHECK(HAL_UART_Transmit(&huart, early, 0, 100) == HAL_ERROR);

  uint8_t rx[4];
  double m0 = now_ms();
  CHECK(HAL_UART_Receive(&huart, rx, sizeof rx, 60) == HAL_TIMEOUT);
  CHECK(now_ms() - m0 >= 59.0);
  CHECK(HAL_UART_GetState(&huart) == HAL_UART_STATE_READY);

  UART_HandleTypeDef bad;
  memset(&bad, 0, sizeof bad);
  bad.Instance = (USART_TypeDef *)&huart;
  bad.Init.BaudRate = 9600;
  CHECK(HAL_UART_Init(&bad) == HAL_ERROR);
  CHECK(HAL_UART_Init(NULL) == HAL_ERROR);
  CHECK(HAL_UART_DeInit(&huart) == HAL_OK);
  CHECK(HAL_UART_Transmit(&huart, early, 1, 100) == HAL_BUSY);
  return finish("uart");
}

/* The flag macros act on the host's state: a UART's ISR after init, the
 * EXTI lines' pending edges, a timer's DIER/SR. */
static int case_macros(void) {
  UART_HandleTypeDef huart;
  memset(&huart, 0, sizeof huart);
  huart.Instance = USART1;
  huart.Init.BaudRate = 115200;
  CHECK(HAL_UART_Init(&huart) == HAL_OK);
  CHECK(__HAL_UART_GET_FLAG(&huart, UART_FLAG_TXE));
  CHECK(__HAL_UART_GET_FLAG(&huart, UART_FLAG_TC));
  CHECK(!__HAL_UART_GET_FLAG(&huart, UART_FLAG_RXNE));
  __HAL_UART_CLEAR_FLAG(&huart, UART_CLEAR_TCF);
  CHECK(!__HAL_UART_GET_FLAG(&huart, UART_FLAG_TC));
  CHECK(__HAL_UART_GET_FLAG(&huart, UART_FLAG_TXE));
  CHECK(__HAL_UART_GET_IT_SOURCE(&huart, UART_IT_RXNE) == RESET);
  __HAL_UART_ENABLE_IT(&huart, UART_IT_RXNE);
  CHECK(__HAL_UART_GET_IT_SOURCE(&huart, UART_IT_RXNE) == SET);
  CHECK((USART1->CR1 & (1U << 5)) != 0U); /* RXNEIE is CR1 bit 5 */
  __HAL_UART_ENABLE_IT(&huart, UART_IT_ERR);
  CHECK((USART1->CR3 & 1U) != 0U); /* EIE is CR3 bit 0 */
  __HAL_UART_DISABLE_IT(&huart, UART_IT_RXNE);
  CHECK(__HAL_UART_GET_IT_SOURCE(&huart, UART_IT_RXNE) == RESET);
  CHECK(HAL_UART_DeInit(&huart) == HAL_OK);

  CHECK(!__HAL_GPIO_EXTI_GET_IT(GPIO_PIN_3));
  __HAL_GPIO_EXTI_GENERATE_SWIT(GPIO_PIN_3);
  CHECK(__HAL_GPIO_EXTI_GET_IT(GPIO_PIN_3));
  CHECK(__HAL_GPIO_EXTI_GET_RISING_IT(GPIO_PIN_3));
  CHECK(!__HAL_GPIO_EXTI_GET_FALLING_IT(GPIO_PIN_3));
  CHECK(!__HAL_GPIO_EXTI_GET_IT(GPIO_PIN_4));
  __HAL_GPIO_EXTI_CLEAR_IT(GPIO_PIN_3);
  CHECK(!__HAL_GPIO_EXTI_GET_IT(GPIO_PIN_3));

  TIM_HandleTypeDef htim;
  memset(&htim, 0, sizeof htim);
  htim.Instance = TIM2;
  htim.Init.Prescaler = 159;
  htim.Init.Period = 999;
  CHECK(HAL_TIM_Base_Init(&htim) == HAL_OK);
  CHECK(TIM2->PSC == 159U && TIM2->ARR == 999U);
  CHECK(!__HAL_TIM_GET_FLAG(&htim, TIM_FLAG_UPDATE)); /* the init's reload flag is cleared */
  __HAL_TIM_ENABLE_IT(&htim, TIM_IT_UPDATE);
  CHECK(__HAL_TIM_GET_IT_SOURCE(&htim, TIM_IT_UPDATE) == SET);
  TIM2->SR = TIM_SR_UIF | TIM_SR_CC1IF;
  __HAL_TIM_CLEAR_FLAG(&htim, TIM_FLAG_UPDATE);
  CHECK(TIM2->SR == TIM_SR_CC1IF); /* only the named flag is cleared */
  __HAL_TIM_SET_AUTORELOAD(&htim, 499U);
  CHECK(__HAL_TIM_GET_AUTORELOAD(&htim) == 499U && htim.Init.Period == 499U);
  __HAL_TIM_SET_COMPARE(&htim, TIM_CHANNEL_3, 42U);
  CHECK(__HAL_TIM_GET_COMPARE(&htim, TIM_CHANNEL_3) == 42U && TIM2->CCR3 == 42U);
  CHECK(HAL_TIM_Base_DeInit(&htim) == HAL_OK);

  /* The non-secure names are the same instances; ports are consecutive, as
   * code walking GPIOA_NS + i expects. */
  HAL_GPIO_EnableHighSPeedLowVoltage(GPIOE, GPIO_PIN_2 | GPIO_PIN_3);
  HAL_GPIO_DisableHighSPeedLowVoltage(GPIOE, GPIO_PIN_3);
  CHECK(GPIOE->HSLVR == GPIO_PIN_2);
  CHECK(GPIOA_NS == GPIOA && GPIOA_NS + 8 == GPIOI && USART2_NS == USART2 && TIM6_NS == TIM6);
  return finish("macros");
}

/* A timer's period interrupt without the library: NVIC_SetPendingIRQ (the
 * library's, referenced weakly by the HAL) is ours here and runs the
 * handler at once. */
static TIM_HandleTypeDef irq_timer;
static volatile uint32_t periods;
static volatile int pended_irq = -1;

void NVIC_SetPendingIRQ(IRQn_Type IRQn) {
  pended_irq = (int)IRQn;
  HAL_TIM_IRQHandler(&irq_timer);
}

void HAL_TIM_PeriodElapsedCallback(TIM_HandleTypeDef *htim) {
  if (htim == &irq_timer) {
    periods++;
  }
}

static int case_tim(void) {
  irq_timer.Instance = TIM16;
  irq_timer.Init.Prescaler = 15999U; /* 160 MHz / 16000: 10 kHz */
  irq_timer.Init.Period = 9U;        /* / 10: 1 kHz */
  CHECK(HAL_TIM_Base_Init(&irq_timer) == HAL_OK);
  CHECK(HAL_TIM_Base_Start_IT(&irq_timer) == HAL_OK);
  CHECK(HAL_TIM_Base_GetState(&irq_timer) == HAL_TIM_STATE_BUSY);
  while (periods < 5U) {
    sched_yield();
  }
  CHECK(pended_irq == TIM16_IRQn);
  CHECK(HAL_TIM_Base_Stop_IT(&irq_timer) == HAL_OK);
  CHECK((TIM16->DIER & TIM_DIER_UIE) == 0U && (TIM16->CR1 & TIM_CR1_CEN) == 0U);
  CHECK(HAL_TIM_Base_GetState(&irq_timer) == HAL_TIM_STATE_READY);

  /* PWM (the CMSIS-FreeRTOS demo's display backlight): accepted, traced. */
  TIM_HandleTypeDef pwm;
  memset(&pwm, 0, sizeof pwm);
  pwm.Instance = TIM4;
  pwm.Init.Prescaler = 320 - 1;
  pwm.Init.Period = 1000 - 1;
  pwm.Init.AutoReloadPreload = TIM_AUTORELOAD_PRELOAD_ENABLE;
  CHECK(HAL_TIM_PWM_Init(&pwm) == HAL_OK);
  TIM_MasterConfigTypeDef master = {TIM_TRGO_RESET, TIM_TRGO2_RESET, TIM_MASTERSLAVEMODE_DISABLE};
  CHECK(HAL_TIMEx_MasterConfigSynchronization(&pwm, &master) == HAL_OK);
  TIM_OC_InitTypeDef oc;
  memset(&oc, 0, sizeof oc);
  oc.OCMode = TIM_OCMODE_PWM1;
  oc.Pulse = 500 - 1;
  oc.OCPolarity = TIM_OCPOLARITY_HIGH;
  oc.OCFastMode = TIM_OCFAST_DISABLE;
  CHECK(HAL_TIM_PWM_ConfigChannel(&pwm, &oc, TIM_CHANNEL_2) == HAL_OK);
  CHECK(TIM4->CCR2 == 499U);
  CHECK(HAL_TIM_PWM_ConfigChannel(&pwm, &oc, 3U) == HAL_ERROR); /* not a channel */
  CHECK(HAL_TIM_PWM_Start(&pwm, TIM_CHANNEL_2) == HAL_OK);
  CHECK((TIM4->CR1 & TIM_CR1_CEN) != 0U);
  CHECK(HAL_TIM_PWM_Stop(&pwm, TIM_CHANNEL_2) == HAL_OK);
  CHECK((TIM4->CR1 & TIM_CR1_CEN) == 0U);
  return finish("tim");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s gpio|tick|uart|macros|tim\n", argv[0]);
    return 2;
  }
  if (strcmp(argv[1], "gpio") == 0) {
    return case_gpio();
  }
  if (strcmp(argv[1], "tick") == 0) {
    return case_tick();
  }
  if (strcmp(argv[1], "uart") == 0) {
    return case_uart();
  }
  if (strcmp(argv[1], "macros") == 0) {
    return case_macros();
  }
  if (strcmp(argv[1], "tim") == 0) {
    return case_tim();
  }
  fprintf(stderr, "unknown case %s\n", argv[1]);
  return 2;
}
