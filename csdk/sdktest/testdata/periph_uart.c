/* periph_uart.c: HAL_UART_Receive reads what the board sends
 * (periph_io_test.go): USART2 gets board text (some at once, some later),
 * USART1 has the echo model, UART4 nothing; USART3's text arrives through
 * the interrupt receptions and USART3_IRQHandler. Prints one line per step. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stm32u5xx_hal.h"

static UART_HandleTypeDef u1, u2, u3, u4;
static volatile int cplt, event, event_size = -1, in_handler;

void USART3_IRQHandler(void) {
  HAL_UART_IRQHandler(&u3);
}

void HAL_UART_RxCpltCallback(UART_HandleTypeDef *h) {
  if (h == &u3) {
    in_handler += __get_IPSR() != 0U;
    cplt++;
  }
}

void HAL_UARTEx_RxEventCallback(UART_HandleTypeDef *h, uint16_t size) {
  if (h == &u3) {
    in_handler += __get_IPSR() != 0U;
    event_size = size;
    event++;
  }
}

/* Waits for *flag (the test's own deadline bounds it). */
static void await(volatile int *flag) {
  struct timespec nap = {0, 1000000};
  while (*flag == 0) {
    nanosleep(&nap, NULL);
  }
}

static void init(UART_HandleTypeDef *h, USART_TypeDef *inst) {
  memset(h, 0, sizeof *h);
  h->Instance = inst;
  h->Init.BaudRate = 115200;
  h->Init.WordLength = UART_WORDLENGTH_8B;
  h->Init.StopBits = UART_STOPBITS_1;
  h->Init.Parity = UART_PARITY_NONE;
  h->Init.Mode = UART_MODE_TX_RX;
  h->Init.HwFlowCtl = UART_HWCONTROL_NONE;
  if (HAL_UART_Init(h) != HAL_OK) {
    printf("init failed\n");
  }
}

static void show(const char *what, HAL_StatusTypeDef st, const uint8_t *buf, UART_HandleTypeDef *h) {
  char text[64];
  uint16_t got = (uint16_t)(h->RxXferSize - h->RxXferCount);
  memcpy(text, buf, got);
  text[got] = 0;
  for (char *c = text; *c; c++) {
    if (*c == '\r' || *c == '\n') {
      *c = '|';
    }
  }
  printf("%s %d got %u [%s] state 0x%02x\n", what, (int)st, (unsigned)got, text, (unsigned)HAL_UART_GetState(h));
}

int main(void) {
  HAL_Init();
  uint8_t buf[32];
  init(&u2, USART2);
  HAL_StatusTypeDef st = HAL_UART_Receive(&u2, buf, 7, 5000);
  show("hello", st, buf, &u2);
  /* "late" comes at 1 s, then nothing: HAL_TIMEOUT with what came. */
  memset(buf, 0, sizeof buf);
  st = HAL_UART_Receive(&u2, buf, 8, 1500);
  show("late", st, buf, &u2);
  st = HAL_UART_Receive(&u2, buf, 1, 0);
  show("none", st, buf, &u2);

  init(&u1, USART1);
  const char line[] = "AT+PING\r\n";
  HAL_UART_Transmit(&u1, (const uint8_t *)line, (uint16_t)strlen(line), 100);
  memset(buf, 0, sizeof buf);
  st = HAL_UART_Receive(&u1, buf, (uint16_t)strlen(line), HAL_MAX_DELAY);
  show("echo", st, buf, &u1);

  init(&u4, UART4);
  st = HAL_UART_Receive(&u4, buf, 1, 50);
  show("empty", st, buf, &u4);

  init(&u3, USART3);
  HAL_NVIC_SetPriority(USART3_IRQn, 5, 0);
  HAL_NVIC_EnableIRQ(USART3_IRQn);
  memset(buf, 0, sizeof buf);
  st = HAL_UART_Receive_IT(&u3, buf, 6);
  await(&cplt);
  show("it", st, buf, &u3);
  memset(buf, 0, sizeof buf);
  st = HAL_UARTEx_ReceiveToIdle_IT(&u3, buf, 16);
  await(&event);
  printf("idle %d size %d [%s] type %u state 0x%02x in handler %d\n", (int)st, event_size, (char *)buf,
         (unsigned)u3.ReceptionType, (unsigned)HAL_UART_GetState(&u3), in_handler);
  /* Nothing more comes: the reception stays busy until aborted. */
  st = HAL_UART_Receive_IT(&u3, buf, 4);
  HAL_StatusTypeDef busy = HAL_UART_Receive(&u3, buf, 1, 0);
  HAL_StatusTypeDef abort = HAL_UART_AbortReceive(&u3);
  HAL_StatusTypeDef after = HAL_UART_Receive(&u3, buf, 1, 0);
  printf("pending %d busy %d abort %d after %d state 0x%02x callbacks %d %d\n", (int)st, (int)busy, (int)abort,
         (int)after, (unsigned)HAL_UART_GetState(&u3), cplt, event);
  return 0;
}
