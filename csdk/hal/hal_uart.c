//go:build ignore

/*
 * hal_uart.c — UART handles: transmit goes to stdout and to the board's
 * device on the UART; receive reads what the board sends.
 *
 * HAL_UART_Transmit writes the bytes to the process's stdout with stdio and
 * flushes, so UART logging and printf output stay in order, and hands them
 * to the model the board file attached to the UART (docs/peripherals.md),
 * which may answer. Its Timeout is not enforced (a stdout that blocks,
 * blocks the caller). HAL_UART_Receive takes the bytes the board sends (its
 * text timeline, its model's answers) as they come, as ST's does: HAL_OK
 * once Size bytes came, else HAL_TIMEOUT when Timeout ms have passed since
 * the call began, with the bytes that came in pData and RxXferCount the
 * number missing. Without a board (or the library) nothing comes.
 *
 * Trace events (kind "uart"):
 *   {"op":"init","instance":"USART2","baud":115200}
 *   {"op":"transmit","instance":"USART2","len":6,"data":"hello\n"}
 *       (data escaped and cut at 256 bytes, then "truncated":true; + "device"
 *       when a board model is attached)
 *   {"op":"receive","instance":"USART2","size":4,"timeout_ms":100,"len":2,
 *    "data":"OK","status":"HAL_TIMEOUT"}   (when the call returns)
 *   {"op":"receive_it","instance":"USART2","size":6}   (receive_to_idle_it alike)
 *   {"op":"receive_it","instance":"USART2","size":6,"len":6,"data":"ping\r\n",
 *    "status":"complete"}   (HAL_UART_IRQHandler, before the callback)
 *   {"op":"deinit","instance":"USART2"}
 *   {"op":"init","error":"bad instance"}  (Instance not USART1…LPUART1)
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stm32u5xx_hal.h"
#include "hal_internal.h"
#include "mvnet_trace.h"
#include "mvnet_periph.h" /* the board: mvnet_periph_uart_tx, mvnet_periph_uart_rx */

USART_TypeDef mvnet_usart[MVNET_USART_COUNT];

/* Application hooks: weak references, called only if the application
 * defines them (see hal_symbols.c). */
extern void HAL_UART_MspInit(UART_HandleTypeDef *huart) __attribute__((weak));
extern void HAL_UART_MspDeInit(UART_HandleTypeDef *huart) __attribute__((weak));
/* The board (libmvnet), or none when the HAL is linked without it. */
extern void mvnet_periph_uart_tx(struct mvnet_periph_uart_tx *x) __attribute__((weak));
extern uint32_t mvnet_periph_uart_rx(uint32_t uart, uint8_t *buf, uint32_t n, int32_t wait_ms) __attribute__((weak));

static pthread_once_t usarts_once = PTHREAD_ONCE_INIT;
static USART_TypeDef *usarts_base;

static void find_usarts(void) {
  usarts_base = mvnet_hal_canonical("mvnet_usart", mvnet_usart);
}

/* USART1…LPUART1 as the application sees them (hal_symbols.c). */
static USART_TypeDef *usarts(void) {
  pthread_once(&usarts_once, find_usarts);
  return usarts_base;
}

static const char *const usart_names[MVNET_USART_COUNT] = {
    "USART1", "USART2", "USART3", "UART4", "UART5", "LPUART1",
};

/* mu guards the gState/RxState transitions of every handle, so that two
 * threads sharing a handle see HAL_BUSY rather than interleave. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

#define TRACE_DATA_MAX 256U

/* Not inlined: HAL_UART_Receive calls it around pthread_cleanup_push's
 * setjmp, where GCC's -Wclobbered flags an inlined loop counter. */
__attribute__((noinline)) static int usart_index(const USART_TypeDef *u) {
  USART_TypeDef *base = usarts();
  for (int i = 0; i < MVNET_USART_COUNT; i++) {
    if (u == &base[i]) {
      return i;
    }
  }
  return -1;
}

static const char *handle_name(const UART_HandleTypeDef *huart) {
  int i = usart_index(huart->Instance);
  return i >= 0 ? usart_names[i] : "?";
}

static void trace(const char *fields) {
  mvnet_trace_event("uart", fields);
}

/* Moves *state from `from` to `to` under mu; 0 if it was not `from`. */
static int transition(__IO HAL_UART_StateTypeDef *state, uint32_t from, uint32_t to) {
  int ok;
  pthread_mutex_lock(&mu);
  ok = *state == from;
  if (ok) {
    *state = to;
  }
  pthread_mutex_unlock(&mu);
  return ok;
}

HAL_StatusTypeDef HAL_UART_Init(UART_HandleTypeDef *huart) {
  if (huart == NULL) {
    return HAL_ERROR;
  }
  int i = usart_index(huart->Instance);
  if (i < 0) {
    trace("\"op\":\"init\",\"error\":\"bad instance\"");
    return HAL_ERROR;
  }
  if (huart->gState == HAL_UART_STATE_RESET) {
    huart->Lock = HAL_UNLOCKED;
    if (HAL_UART_MspInit != NULL) {
      HAL_UART_MspInit(huart);
    }
  }
  /* ST's HAL fails when the baud rate divisor comes out out of range. */
  if (huart->Init.BaudRate == 0U) {
    return HAL_ERROR;
  }
  USART_TypeDef *u = huart->Instance;
  u->CR1 = huart->Init.WordLength | huart->Init.Parity | huart->Init.Mode | huart->Init.OverSampling |
           USART_CR1_UE;
  u->CR2 = huart->Init.StopBits;
  u->CR3 = huart->Init.HwFlowCtl | huart->Init.OneBitSampling;
  u->PRESC = huart->Init.ClockPrescaler;
  u->BRR = HAL_RCC_GetPCLK1Freq() / huart->Init.BaudRate;
  /* An idle, enabled UART: ready to send, nothing received, so that code
   * polling __HAL_UART_GET_FLAG(…, UART_FLAG_TXE/TC) goes on. */
  u->ISR = UART_FLAG_TXE | UART_FLAG_TC | UART_FLAG_TEACK | UART_FLAG_REACK;
  huart->ErrorCode = HAL_UART_ERROR_NONE;
  huart->gState = HAL_UART_STATE_READY;
  huart->RxState = HAL_UART_STATE_READY;

  char buf[96];
  snprintf(buf, sizeof buf, "\"op\":\"init\",\"instance\":\"%s\",\"baud\":%u", usart_names[i],
           (unsigned)huart->Init.BaudRate);
  trace(buf);
  return HAL_OK;
}

HAL_StatusTypeDef HAL_UART_DeInit(UART_HandleTypeDef *huart) {
  if (huart == NULL || usart_index(huart->Instance) < 0) {
    return HAL_ERROR;
  }
  HAL_UART_AbortReceive(huart); /* an interrupt reception ends */
  huart->gState = HAL_UART_STATE_BUSY;
  huart->Instance->CR1 = 0U;
  huart->Instance->ISR = 0U;
  if (HAL_UART_MspDeInit != NULL) {
    HAL_UART_MspDeInit(huart);
  }
  huart->ErrorCode = HAL_UART_ERROR_NONE;
  huart->gState = HAL_UART_STATE_RESET;
  huart->RxState = HAL_UART_STATE_RESET;
  huart->Lock = HAL_UNLOCKED;

  char buf[64];
  snprintf(buf, sizeof buf, "\"op\":\"deinit\",\"instance\":\"%s\"", handle_name(huart));
  trace(buf);
  return HAL_OK;
}

/* Records a transfer: head is the event's fields before its data, tail
 * those after; data escaped and cut at TRACE_DATA_MAX bytes. */
static void trace_data(const char *head, const uint8_t *data, uint32_t len, const char *tail) {
  char esc[TRACE_DATA_MAX * 6 + 1];
  size_t shown = len < TRACE_DATA_MAX ? len : TRACE_DATA_MAX;
  size_t used = mvnet_hal_json_escape(esc, sizeof esc, data, shown);
  char buf[sizeof esc + 256];
  snprintf(buf, sizeof buf, "%s,\"len\":%u,\"data\":\"%s\"%s%s", head, (unsigned)len, esc,
           used < len ? ",\"truncated\":true" : "", tail);
  trace(buf);
}

static void trace_transmit(const UART_HandleTypeDef *huart, const uint8_t *data, uint16_t size, const char *device) {
  char head[64], tail[64] = "";
  snprintf(head, sizeof head, "\"op\":\"transmit\",\"instance\":\"%s\"", handle_name(huart));
  if (device[0] != '\0') {
    snprintf(tail, sizeof tail, ",\"device\":\"%s\"", device);
  }
  trace_data(head, data, size, tail);
}

HAL_StatusTypeDef HAL_UART_Transmit(UART_HandleTypeDef *huart, const uint8_t *pData, uint16_t Size,
                                    uint32_t Timeout) {
  (void)Timeout;
  if (huart == NULL) {
    return HAL_ERROR;
  }
  if (!transition(&huart->gState, HAL_UART_STATE_READY, HAL_UART_STATE_BUSY_TX)) {
    return HAL_BUSY;
  }
  if (pData == NULL || Size == 0U) {
    huart->gState = HAL_UART_STATE_READY;
    return HAL_ERROR;
  }
  int cs = mvnet_hal_nocancel();
  huart->ErrorCode = HAL_UART_ERROR_NONE;
  huart->pTxBuffPtr = pData;
  huart->TxXferSize = Size;
  huart->TxXferCount = Size;

  fwrite(pData, 1, Size, stdout);
  fflush(stdout);
  int u = usart_index(huart->Instance);
  struct mvnet_periph_uart_tx x = {.uart = (uint32_t)u, .data = pData, .len = Size};
  if (u >= 0 && mvnet_periph_uart_tx != NULL) {
    mvnet_periph_uart_tx(&x);
  }
  trace_transmit(huart, pData, Size, x.device);

  huart->TxXferCount = 0U;
  huart->gState = HAL_UART_STATE_READY;
  mvnet_hal_restore_cancel(cs);
  return HAL_OK;
}

/* Puts a receiving handle back to READY if its thread is cancelled while it
 * waits. */
static void receive_unwind(void *arg) {
  UART_HandleTypeDef *huart = arg;
  huart->RxState = HAL_UART_STATE_READY;
}

/* The longest single wait for the board's bytes: the thread checks for
 * cancellation (osThreadTerminate) between waits. */
#define RECEIVE_SLICE_MS 100U

/* Waits for up to `want` bytes into `dst` until `deadline_ns` (uptime; 0:
 * no deadline): what the board sent, else nothing (no library). */
static uint32_t receive_some(int u, uint8_t *dst, uint32_t want, uint64_t deadline_ns) {
  uint64_t now = mvnet_hal_uptime_ns();
  if (deadline_ns != 0 && now >= deadline_ns) {
    return mvnet_periph_uart_rx != NULL ? mvnet_periph_uart_rx((uint32_t)u, dst, want, 0) : 0U;
  }
  uint32_t wait = RECEIVE_SLICE_MS;
  if (deadline_ns != 0 && (deadline_ns - now + 999999U) / 1000000U < wait) {
    wait = (uint32_t)((deadline_ns - now + 999999U) / 1000000U);
  }
  if (mvnet_periph_uart_rx == NULL) {
    mvnet_hal_sleep_ms(wait);
    return 0U;
  }
  int cs = mvnet_hal_nocancel();
  uint32_t n = mvnet_periph_uart_rx((uint32_t)u, dst, want, (int32_t)wait);
  mvnet_hal_restore_cancel(cs);
  return n;
}

HAL_StatusTypeDef HAL_UART_Receive(UART_HandleTypeDef *huart, uint8_t *pData, uint16_t Size,
                                   uint32_t Timeout) {
  if (huart == NULL) {
    return HAL_ERROR;
  }
  if (!transition(&huart->RxState, HAL_UART_STATE_READY, HAL_UART_STATE_BUSY_RX)) {
    return HAL_BUSY;
  }
  if (pData == NULL || Size == 0U) {
    huart->RxState = HAL_UART_STATE_READY;
    return HAL_ERROR;
  }
  int u = usart_index(huart->Instance);
  const char *name = u >= 0 ? usart_names[u] : "?";
  huart->ErrorCode = HAL_UART_ERROR_NONE;
  huart->pRxBuffPtr = pData;
  huart->RxXferSize = Size;
  huart->RxXferCount = Size;

  /* ST's HAL measures Timeout from the call's start (not per byte), and
   * HAL_MAX_DELAY waits for ever. */
  uint64_t deadline = Timeout == HAL_MAX_DELAY ? 0U : mvnet_hal_uptime_ns() + (uint64_t)Timeout * 1000000U + 1U;
  uint32_t got = 0;
  HAL_StatusTypeDef st = HAL_OK;
  /* The wait may be cancelled; the handle is then left READY. */
  pthread_cleanup_push(receive_unwind, huart);
  while (got < Size) {
    uint32_t n = u >= 0 ? receive_some(u, pData + got, Size - got, deadline) : 0U;
    got += n;
    huart->RxXferCount = (uint16_t)(Size - got);
    if (n == 0U && deadline != 0U && mvnet_hal_uptime_ns() >= deadline) {
      st = HAL_TIMEOUT;
      break;
    }
    if (n == 0U && u < 0) {
      mvnet_hal_sleep_ms(RECEIVE_SLICE_MS);
    }
    pthread_testcancel();
  }
  pthread_cleanup_pop(1);

  char head[160];
  snprintf(head, sizeof head, "\"op\":\"receive\",\"instance\":\"%s\",\"size\":%u,\"timeout_ms\":%u",
           name, (unsigned)Size, (unsigned)Timeout);
  int cs = mvnet_hal_nocancel();
  trace_data(head, pData, got, st == HAL_OK ? ",\"status\":\"HAL_OK\"" : ",\"status\":\"HAL_TIMEOUT\"");
  mvnet_hal_restore_cancel(cs);
  return st;
}

/* Interrupt-mode receptions. A reception has a waiter thread that takes
 * the board's bytes into the caller's buffer; when it is complete (Size
 * bytes; or, to idle, the bytes there once at least one came) it marks the
 * reception done and pends the UART's IRQ. HAL_UART_IRQHandler, run by the
 * application's USARTn_IRQHandler, then makes the handle READY and calls
 * the callback, as ST's does from its RXNE/IDLE interrupts. */
extern void NVIC_SetPendingIRQ(IRQn_Type IRQn) __attribute__((weak));
extern void HAL_UART_RxCpltCallback(UART_HandleTypeDef *huart) __attribute__((weak));
extern void HAL_UARTEx_RxEventCallback(UART_HandleTypeDef *huart, uint16_t Size) __attribute__((weak));

static const IRQn_Type usart_irqs[MVNET_USART_COUNT] = {
    USART1_IRQn, USART2_IRQn, USART3_IRQn, UART4_IRQn, UART5_IRQn, LPUART1_IRQn,
};

struct it_rx {
  UART_HandleTypeDef *huart;
  int u;
  int to_idle;
  uint8_t *dst;
  uint16_t size;
  uint16_t got;  /* under mu */
  int done;      /* under mu: complete, waiting for the IRQ handler */
  int aborted;   /* under mu: the waiter frees the reception */
};

static struct it_rx *it_rx[MVNET_USART_COUNT]; /* under mu: the reception in progress */

static void *it_rx_main(void *arg) {
  struct it_rx *r = arg;
  uint8_t tmp[256];
  int had = 0; /* some byte came */
  for (;;) {
    pthread_mutex_lock(&mu);
    uint32_t want = (uint32_t)(r->size - r->got);
    int stop = r->aborted;
    pthread_mutex_unlock(&mu);
    if (stop) {
      free(r);
      return NULL;
    }
    if (want > sizeof tmp) {
      want = sizeof tmp;
    }
    /* The first byte is awaited in slices, so that an abort is seen; to
     * idle, once bytes came, the line is idle when no more are there. */
    int32_t wait = r->to_idle && had ? 0 : (int32_t)RECEIVE_SLICE_MS;
    uint32_t n = mvnet_periph_uart_rx((uint32_t)r->u, tmp, want, wait);
    pthread_mutex_lock(&mu);
    if (r->aborted) {
      pthread_mutex_unlock(&mu);
      free(r);
      return NULL;
    }
    memcpy(r->dst + r->got, tmp, n);
    r->got = (uint16_t)(r->got + n);
    r->huart->RxXferCount = (uint16_t)(r->size - r->got);
    had = had || n > 0U;
    if (r->got == r->size || (r->to_idle && had && n == 0U)) {
      r->done = 1;
      IRQn_Type irq = usart_irqs[r->u];
      pthread_mutex_unlock(&mu);
      if (NVIC_SetPendingIRQ != NULL) {
        NVIC_SetPendingIRQ(irq);
      }
      return NULL; /* HAL_UART_IRQHandler (or an abort) frees r */
    }
    pthread_mutex_unlock(&mu);
  }
}

static HAL_StatusTypeDef receive_it(UART_HandleTypeDef *huart, uint8_t *pData, uint16_t Size, int to_idle) {
  if (huart == NULL) {
    return HAL_ERROR;
  }
  if (!transition(&huart->RxState, HAL_UART_STATE_READY, HAL_UART_STATE_BUSY_RX)) {
    return HAL_BUSY;
  }
  int u = usart_index(huart->Instance);
  if (pData == NULL || Size == 0U || u < 0) {
    huart->RxState = HAL_UART_STATE_READY;
    return HAL_ERROR;
  }
  huart->ErrorCode = HAL_UART_ERROR_NONE;
  huart->ReceptionType = to_idle ? HAL_UART_RECEPTION_TOIDLE : HAL_UART_RECEPTION_STANDARD;
  huart->pRxBuffPtr = pData;
  huart->RxXferSize = Size;
  huart->RxXferCount = Size;

  char head[160];
  snprintf(head, sizeof head, "\"op\":\"%s\",\"instance\":\"%s\",\"size\":%u",
           to_idle ? "receive_to_idle_it" : "receive_it", usart_names[u], (unsigned)Size);
  int cs = mvnet_hal_nocancel();
  trace(head);
  if (mvnet_periph_uart_rx != NULL) {
    struct it_rx *r = calloc(1, sizeof *r);
    if (r != NULL) {
      *r = (struct it_rx){.huart = huart, .u = u, .to_idle = to_idle, .dst = pData, .size = Size};
      pthread_mutex_lock(&mu);
      it_rx[u] = r;
      pthread_mutex_unlock(&mu);
      if (mvnet_hal_board_thread(it_rx_main, r) != 0) {
        pthread_mutex_lock(&mu);
        it_rx[u] = NULL;
        pthread_mutex_unlock(&mu);
        free(r);
      }
    }
  }
  mvnet_hal_restore_cancel(cs);
  return HAL_OK;
}

HAL_StatusTypeDef HAL_UART_Receive_IT(UART_HandleTypeDef *huart, uint8_t *pData, uint16_t Size) {
  return receive_it(huart, pData, Size, 0);
}

HAL_StatusTypeDef HAL_UARTEx_ReceiveToIdle_IT(UART_HandleTypeDef *huart, uint8_t *pData, uint16_t Size) {
  return receive_it(huart, pData, Size, 1);
}

/* Ends the handle's interrupt reception (the waiter, if still waiting,
 * drops what it was given and frees the reception); the handle is READY. */
HAL_StatusTypeDef HAL_UART_AbortReceive(UART_HandleTypeDef *huart) {
  if (huart == NULL) {
    return HAL_ERROR;
  }
  int u = usart_index(huart->Instance);
  pthread_mutex_lock(&mu);
  if (u >= 0 && it_rx[u] != NULL && it_rx[u]->huart == huart) {
    struct it_rx *r = it_rx[u];
    it_rx[u] = NULL;
    if (r->done) {
      free(r);
    } else {
      r->aborted = 1;
    }
  }
  huart->RxXferCount = 0U;
  huart->ReceptionType = HAL_UART_RECEPTION_STANDARD;
  huart->RxState = HAL_UART_STATE_READY;
  pthread_mutex_unlock(&mu);
  return HAL_OK;
}

void HAL_UART_IRQHandler(UART_HandleTypeDef *huart) {
  if (huart == NULL) {
    return;
  }
  int u = usart_index(huart->Instance);
  struct it_rx *r = NULL;
  int cs = mvnet_hal_nocancel();
  pthread_mutex_lock(&mu);
  if (u >= 0 && it_rx[u] != NULL && it_rx[u]->huart == huart && it_rx[u]->done) {
    r = it_rx[u];
    it_rx[u] = NULL;
  }
  pthread_mutex_unlock(&mu);
  if (r == NULL) {
    mvnet_hal_restore_cancel(cs);
    return; /* nothing complete: a spurious or foreign interrupt */
  }
  int to_idle = r->to_idle;
  uint16_t got = r->got;
  char head[160];
  snprintf(head, sizeof head, "\"op\":\"%s\",\"instance\":\"%s\",\"size\":%u",
           to_idle ? "receive_to_idle_it" : "receive_it", usart_names[u], (unsigned)r->size);
  trace_data(head, r->dst, got, ",\"status\":\"complete\"");
  free(r);
  huart->ReceptionType = HAL_UART_RECEPTION_STANDARD;
  huart->RxState = HAL_UART_STATE_READY;
  mvnet_hal_restore_cancel(cs);
  if (to_idle && HAL_UARTEx_RxEventCallback != NULL) {
    HAL_UARTEx_RxEventCallback(huart, got);
  } else if (!to_idle && HAL_UART_RxCpltCallback != NULL) {
    HAL_UART_RxCpltCallback(huart);
  }
}

HAL_UART_StateTypeDef HAL_UART_GetState(const UART_HandleTypeDef *huart) {
  return huart->gState | huart->RxState;
}

uint32_t HAL_UART_GetError(const UART_HandleTypeDef *huart) {
  return huart->ErrorCode;
}
