//go:build ignore

/*
 * hal_i2c.c — I2C controller handles whose transfers run on the simulated
 * buses of package periph (csdk/hal/mvnet_periph.h).
 *
 * Each blocking call is one bus transaction, as the STM32 I2C peripheral
 * runs it: Master_Transmit is START, address+W, bytes, STOP; Master_Receive
 * START, address+R, bytes, STOP; Mem_Write writes the memory address and the
 * data in one write; Mem_Read writes the memory address, then a repeated
 * START reads; IsDeviceReady sends the address alone, up to Trials times. A
 * NACK ends the transaction (the peripheral then sends STOP) and the call
 * returns HAL_ERROR with HAL_I2C_ERROR_AF, as ST's HAL does; IsDeviceReady
 * fails with HAL_I2C_ERROR_TIMEOUT after its trials. Timeouts are not
 * waited: transfers complete at once.
 *
 * The interrupt variants (Master_Transmit_IT, Master_Receive_IT,
 * Mem_Write_IT, Mem_Read_IT) run the transaction at once too, return HAL_OK
 * with the handle busy, and pend the instance's event interrupt
 * (I2Cn_EV_IRQn). The application's handler calls HAL_I2C_EV_IRQHandler,
 * which completes the transfer as ST's HAL does: the handle is READY again
 * and HAL_I2C_MasterTxCpltCallback / MasterRxCpltCallback /
 * MemTxCpltCallback / MemRxCpltCallback runs, or, after a NACK,
 * HAL_I2C_ErrorCallback with HAL_I2C_ERROR_AF. Without the library's
 * interrupt controller (the HAL sources alone) it completes before
 * returning.
 *
 * Trace events (kind "i2c"), one per call:
 *   {"op":"mem_read","bus":"I2C1","addr":"0x18","w":"05","r":"c1 90","ack":true,
 *    "status":"HAL_OK","device":"mcp9808"}
 *   {"op":"transmit","bus":"I2C1","addr":"0x70","w":"21","nack":"address","status":"HAL_ERROR"}
 *   {"op":"ready","bus":"I2C1","addr":"0x18","trials":3,"nack":"address","status":"HAL_ERROR"}
 *   ops: init, deinit, transmit, receive, mem_write, mem_read, ready;
 *   "w" is every byte written on the wire (the memory address first), "r"
 *   the bytes read (both cut at 64 bytes, then "truncated":true); "state"
 *   is the model's visible state when it has one (a display's RAM).
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "stm32u5xx_hal.h"
#include "stm32u5xx_hal_i2c.h"
#include "hal_internal.h"
#include "mvnet_periph.h"
#include "mvnet_trace.h"

I2C_TypeDef mvnet_i2c[MVNET_I2C_COUNT];

/* Application hooks: weak references, called only if defined. */
extern void HAL_I2C_MspInit(I2C_HandleTypeDef *hi2c) __attribute__((weak));
extern void HAL_I2C_MspDeInit(I2C_HandleTypeDef *hi2c) __attribute__((weak));
extern void HAL_I2C_MasterTxCpltCallback(I2C_HandleTypeDef *hi2c) __attribute__((weak));
extern void HAL_I2C_MasterRxCpltCallback(I2C_HandleTypeDef *hi2c) __attribute__((weak));
extern void HAL_I2C_MemTxCpltCallback(I2C_HandleTypeDef *hi2c) __attribute__((weak));
extern void HAL_I2C_MemRxCpltCallback(I2C_HandleTypeDef *hi2c) __attribute__((weak));
extern void HAL_I2C_ErrorCallback(I2C_HandleTypeDef *hi2c) __attribute__((weak));

/* The library's interrupt controller (csdk/lib/nvic.c), absent without it. */
extern void NVIC_SetPendingIRQ(IRQn_Type IRQn) __attribute__((weak));

/* The buses: libmvnet's, or none when linked without it (mvnet_periph.h). */
extern void mvnet_periph_i2c(struct mvnet_periph_i2c_xfer *x) __attribute__((weak));

static pthread_once_t i2cs_once = PTHREAD_ONCE_INIT;
static I2C_TypeDef *i2cs_base;

static void find_i2cs(void) {
  i2cs_base = mvnet_hal_canonical("mvnet_i2c", mvnet_i2c);
}

static const char *const i2c_names[MVNET_I2C_COUNT] = {"I2C1", "I2C2", "I2C3", "I2C4"};

static int i2c_index(const I2C_TypeDef *p) {
  pthread_once(&i2cs_once, find_i2cs);
  for (int i = 0; i < MVNET_I2C_COUNT; i++) {
    if (p == &i2cs_base[i]) {
      return i;
    }
  }
  return -1;
}

static void trace(const char *fields) {
  mvnet_trace_event("i2c", fields);
}

static const char *status_name(HAL_StatusTypeDef st) {
  switch (st) {
  case HAL_OK: return "HAL_OK";
  case HAL_ERROR: return "HAL_ERROR";
  case HAL_BUSY: return "HAL_BUSY";
  default: return "HAL_TIMEOUT";
  }
}

/* Moves State from READY to `to` (and Mode to `mode`); 0 if it was not
 * READY or was locked. */
static int claim(I2C_HandleTypeDef *hi2c, HAL_I2C_StateTypeDef to, HAL_I2C_ModeTypeDef mode) {
  int ok;
  MVNET_HAL_CLAIM(hi2c, HAL_I2C_STATE_READY, to, ok);
  if (ok) {
    hi2c->Mode = mode;
  }
  return ok;
}

static void release(I2C_HandleTypeDef *hi2c) {
  hi2c->Mode = HAL_I2C_MODE_NONE;
  MVNET_HAL_RELEASE(hi2c, HAL_I2C_STATE_READY);
}

/* Runs x on the bus, or NACKs it when there is no bus behind the HAL. */
static void run(struct mvnet_periph_i2c_xfer *x) {
  x->result = MVNET_I2C_ADDR_NACK;
  x->written = 0;
  x->device[0] = '\0';
  x->state[0] = '\0';
  if (mvnet_periph_i2c != NULL) {
    mvnet_periph_i2c(x);
  }
}

/* Records x as one "i2c" event. */
static void trace_xfer(const char *op, const struct mvnet_periph_i2c_xfer *x, uint32_t trials,
                       HAL_StatusTypeDef st) {
  char hex_w[MVNET_HAL_TRACE_HEX_CAP] = "", hex_r[MVNET_HAL_TRACE_HEX_CAP] = "";
  char dev[sizeof x->device * 6] = "", state[sizeof x->state * 2] = "";
  /* Sized from its parts, so no field is ever cut: the fixed text, names and
   * numbers, both dumps, the escaped model name and state. */
  char buf[256 + sizeof hex_w + sizeof hex_r + sizeof dev + sizeof state];
  int n = snprintf(buf, sizeof buf, "\"op\":\"%s\",\"bus\":\"%s\",\"addr\":\"0x%02x\"", op, i2c_names[x->bus],
                   (unsigned)x->addr);
  int cut = 0;
  if (x->has_write && (x->pre_len + x->tx_len) > 0) {
    cut |= mvnet_hal_append_hex(hex_w, sizeof hex_w, x->pre, x->pre_len, x->tx, x->tx_len);
    n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"w\":\"%s\"", hex_w);
  }
  if (x->has_read && x->result == MVNET_I2C_ACK) {
    cut |= mvnet_hal_append_hex(hex_r, sizeof hex_r, x->rx, x->rx_len, NULL, 0);
    n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"r\":\"%s\"", hex_r);
  }
  if (trials > 0) {
    n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"trials\":%u", (unsigned)trials);
  }
  if (x->result == MVNET_I2C_ACK) {
    n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"ack\":true");
  } else {
    n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"nack\":\"%s\"",
                  x->result == MVNET_I2C_ADDR_NACK ? "address" : "data");
    if (x->result == MVNET_I2C_DATA_NACK) {
      n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"acked\":%u", (unsigned)x->written);
    }
  }
  if (cut) {
    n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"truncated\":true");
  }
  n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"status\":\"%s\"", status_name(st));
  if (x->device[0] != '\0') {
    mvnet_hal_json_escape(dev, sizeof dev, (const uint8_t *)x->device, strnlen(x->device, sizeof x->device));
    n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"device\":\"%s\"", dev);
  }
  if (x->state[0] != '\0') {
    mvnet_hal_json_escape(state, sizeof state, (const uint8_t *)x->state, strnlen(x->state, sizeof x->state));
    snprintf(buf + n, sizeof buf - (size_t)n, ",\"state\":\"%s\"", state);
  }
  trace(buf);
}

HAL_StatusTypeDef HAL_I2C_Init(I2C_HandleTypeDef *hi2c) {
  if (hi2c == NULL) {
    return HAL_ERROR;
  }
  int i = i2c_index(hi2c->Instance);
  if (i < 0) {
    trace("\"op\":\"init\",\"error\":\"bad instance\"");
    return HAL_ERROR;
  }
  if (hi2c->State == HAL_I2C_STATE_RESET) {
    hi2c->Lock = HAL_UNLOCKED;
    if (HAL_I2C_MspInit != NULL) {
      HAL_I2C_MspInit(hi2c);
    }
  }
  hi2c->State = HAL_I2C_STATE_BUSY;
  I2C_TypeDef *p = hi2c->Instance;
  p->CR1 &= ~I2C_CR1_PE;
  p->TIMINGR = hi2c->Init.Timing & 0xF0FFFFFFU; /* ST's HAL: TIMING_CLEAR_MASK */
  p->OAR1 = hi2c->Init.OwnAddress1 != 0U ? (I2C_OAR1_OA1EN | hi2c->Init.OwnAddress1) : 0U;
  if (hi2c->Init.AddressingMode == I2C_ADDRESSINGMODE_10BIT) {
    p->OAR1 |= I2C_OAR1_OA1MODE;
  }
  p->OAR2 = hi2c->Init.DualAddressMode | hi2c->Init.OwnAddress2 | (hi2c->Init.OwnAddress2Masks << 8);
  p->CR1 = (p->CR1 & (I2C_CR1_DNF | I2C_CR1_ANFOFF)) | hi2c->Init.GeneralCallMode | hi2c->Init.NoStretchMode |
           I2C_CR1_PE;
  hi2c->ErrorCode = HAL_I2C_ERROR_NONE;
  hi2c->PreviousState = 0U;
  hi2c->Mode = HAL_I2C_MODE_NONE;
  hi2c->State = HAL_I2C_STATE_READY;

  char buf[96];
  snprintf(buf, sizeof buf, "\"op\":\"init\",\"bus\":\"%s\",\"timing\":\"0x%08x\"", i2c_names[i],
           (unsigned)hi2c->Init.Timing);
  trace(buf);
  return HAL_OK;
}

HAL_StatusTypeDef HAL_I2C_DeInit(I2C_HandleTypeDef *hi2c) {
  if (hi2c == NULL) {
    return HAL_ERROR;
  }
  int i = i2c_index(hi2c->Instance);
  if (i < 0) {
    return HAL_ERROR;
  }
  hi2c->State = HAL_I2C_STATE_BUSY;
  hi2c->Instance->CR1 &= ~I2C_CR1_PE;
  if (HAL_I2C_MspDeInit != NULL) {
    HAL_I2C_MspDeInit(hi2c);
  }
  hi2c->ErrorCode = HAL_I2C_ERROR_NONE;
  hi2c->State = HAL_I2C_STATE_RESET;
  hi2c->PreviousState = 0U;
  hi2c->Mode = HAL_I2C_MODE_NONE;
  hi2c->Lock = HAL_UNLOCKED;

  char buf[64];
  snprintf(buf, sizeof buf, "\"op\":\"deinit\",\"bus\":\"%s\"", i2c_names[i]);
  trace(buf);
  return HAL_OK;
}

static int bad_instance(I2C_HandleTypeDef *hi2c) {
  return hi2c != NULL && i2c_index(hi2c->Instance) < 0;
}

static HAL_StatusTypeDef finish_it(I2C_HandleTypeDef *hi2c, uint32_t ok);

static HAL_StatusTypeDef finish_ok(I2C_HandleTypeDef *hi2c, uint32_t ITFlags, uint32_t ITSources) {
  (void)ITFlags;
  (void)ITSources;
  return finish_it(hi2c, 1);
}

static HAL_StatusTypeDef finish_nack(I2C_HandleTypeDef *hi2c, uint32_t ITFlags, uint32_t ITSources) {
  (void)ITFlags;
  (void)ITSources;
  return finish_it(hi2c, 0);
}

/* The common body of the data transfers; `it` is set for the interrupt
 * variants, which leave the handle busy until the event interrupt. */
static HAL_StatusTypeDef transfer_as(I2C_HandleTypeDef *hi2c, const char *op, HAL_I2C_StateTypeDef state,
                                     HAL_I2C_ModeTypeDef mode, struct mvnet_periph_i2c_xfer *x, int it) {
  if (hi2c == NULL || bad_instance(hi2c)) {
    return HAL_ERROR;
  }
  if (!claim(hi2c, state, mode)) {
    return HAL_BUSY;
  }
  int cs = mvnet_hal_nocancel();
  x->bus = (uint32_t)i2c_index(hi2c->Instance);
  hi2c->ErrorCode = HAL_I2C_ERROR_NONE;
  hi2c->Devaddress = x->addr << 1;
  if (hi2c->Init.AddressingMode == I2C_ADDRESSINGMODE_10BIT) {
    /* No 10-bit devices exist on the simulated buses. */
    x->result = MVNET_I2C_ADDR_NACK;
    x->written = 0;
    x->device[0] = x->state[0] = '\0';
  } else {
    run(x);
  }
  HAL_StatusTypeDef st = HAL_OK;
  if (x->result != MVNET_I2C_ACK) {
    /* ST's HAL: I2C_IsErrorOccurred sees NACKF, sets HAL_I2C_ERROR_AF. */
    hi2c->ErrorCode |= HAL_I2C_ERROR_AF;
    st = HAL_ERROR;
  }
  hi2c->XferCount = 0U;
  if (it) {
    /* The outcome waits for the event interrupt: XferISR says which. */
    hi2c->ErrorCode = HAL_I2C_ERROR_NONE;
    hi2c->XferISR = st == HAL_OK ? finish_ok : finish_nack;
    trace_xfer(op, x, 0, HAL_OK);
    mvnet_hal_restore_cancel(cs);
    static const IRQn_Type ev[MVNET_I2C_COUNT] = {I2C1_EV_IRQn, I2C2_EV_IRQn, I2C3_EV_IRQn, I2C4_EV_IRQn};
    if (NVIC_SetPendingIRQ != NULL) {
      NVIC_SetPendingIRQ(ev[x->bus]);
    } else {
      HAL_I2C_EV_IRQHandler(hi2c);
    }
    return HAL_OK;
  }
  trace_xfer(op, x, 0, st);
  release(hi2c);
  mvnet_hal_restore_cancel(cs);
  return st;
}

static HAL_StatusTypeDef transfer(I2C_HandleTypeDef *hi2c, const char *op, HAL_I2C_StateTypeDef state,
                                  HAL_I2C_ModeTypeDef mode, struct mvnet_periph_i2c_xfer *x) {
  return transfer_as(hi2c, op, state, mode, x, 0);
}

HAL_StatusTypeDef HAL_I2C_Master_Transmit(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint8_t *pData,
                                          uint16_t Size, uint32_t Timeout) {
  (void)Timeout;
  struct mvnet_periph_i2c_xfer x = {.addr = (DevAddress >> 1) & 0x7FU, .has_write = 1, .tx = pData, .tx_len = Size};
  return transfer(hi2c, "transmit", HAL_I2C_STATE_BUSY_TX, HAL_I2C_MODE_MASTER, &x);
}

HAL_StatusTypeDef HAL_I2C_Master_Receive(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint8_t *pData,
                                         uint16_t Size, uint32_t Timeout) {
  (void)Timeout;
  struct mvnet_periph_i2c_xfer x = {.addr = (DevAddress >> 1) & 0x7FU, .has_read = 1, .rx = pData, .rx_len = Size};
  return transfer(hi2c, "receive", HAL_I2C_STATE_BUSY_RX, HAL_I2C_MODE_MASTER, &x);
}

/* mem_transfer is Mem_Write/Mem_Read: the data go to x (tx or rx) and the
 * memory address bytes, most significant first, before them. ST's HAL
 * refuses no data with HAL_I2C_ERROR_INVALID_PARAM. */
static HAL_StatusTypeDef mem_transfer(I2C_HandleTypeDef *hi2c, const char *op, HAL_I2C_StateTypeDef state,
                                      struct mvnet_periph_i2c_xfer *x, uint16_t MemAddress, uint16_t MemAddSize,
                                      const uint8_t *pData, uint16_t Size, int it) {
  if (hi2c != NULL && !bad_instance(hi2c) && hi2c->State == HAL_I2C_STATE_READY && (pData == NULL || Size == 0U)) {
    hi2c->ErrorCode = HAL_I2C_ERROR_INVALID_PARAM;
    return HAL_ERROR;
  }
  if (MemAddSize == I2C_MEMADD_SIZE_8BIT) {
    x->pre[0] = (uint8_t)MemAddress;
    x->pre_len = 1;
  } else {
    x->pre[0] = (uint8_t)(MemAddress >> 8);
    x->pre[1] = (uint8_t)MemAddress;
    x->pre_len = 2;
  }
  if (hi2c != NULL) {
    hi2c->Memaddress = MemAddress;
  }
  return transfer_as(hi2c, op, state, HAL_I2C_MODE_MEM, x, it);
}

HAL_StatusTypeDef HAL_I2C_Mem_Write(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint16_t MemAddress,
                                    uint16_t MemAddSize, uint8_t *pData, uint16_t Size, uint32_t Timeout) {
  (void)Timeout;
  struct mvnet_periph_i2c_xfer x = {.addr = (DevAddress >> 1) & 0x7FU, .has_write = 1, .tx = pData, .tx_len = Size};
  return mem_transfer(hi2c, "mem_write", HAL_I2C_STATE_BUSY_TX, &x, MemAddress, MemAddSize, pData, Size, 0);
}

HAL_StatusTypeDef HAL_I2C_Mem_Read(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint16_t MemAddress,
                                   uint16_t MemAddSize, uint8_t *pData, uint16_t Size, uint32_t Timeout) {
  (void)Timeout;
  struct mvnet_periph_i2c_xfer x = {
      .addr = (DevAddress >> 1) & 0x7FU, .has_write = 1, .has_read = 1, .rx = pData, .rx_len = Size};
  return mem_transfer(hi2c, "mem_read", HAL_I2C_STATE_BUSY_RX, &x, MemAddress, MemAddSize, pData, Size, 0);
}

HAL_StatusTypeDef HAL_I2C_IsDeviceReady(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint32_t Trials,
                                        uint32_t Timeout) {
  (void)Timeout;
  if (hi2c == NULL || bad_instance(hi2c)) {
    return HAL_ERROR;
  }
  if (!claim(hi2c, HAL_I2C_STATE_BUSY, HAL_I2C_MODE_NONE)) {
    return HAL_BUSY;
  }
  int cs = mvnet_hal_nocancel();
  hi2c->ErrorCode = HAL_I2C_ERROR_NONE;
  struct mvnet_periph_i2c_xfer x = {.bus = (uint32_t)i2c_index(hi2c->Instance),
                                    .addr = (DevAddress >> 1) & 0x7FU,
                                    .has_write = 1};
  uint32_t trials = 0;
  /* ST's HAL tries at least once, up to Trials times. */
  do {
    trials++;
    if (hi2c->Init.AddressingMode == I2C_ADDRESSINGMODE_10BIT) {
      x.result = MVNET_I2C_ADDR_NACK;
    } else {
      run(&x);
    }
  } while (x.result != MVNET_I2C_ACK && trials < Trials);
  HAL_StatusTypeDef st = HAL_OK;
  if (x.result != MVNET_I2C_ACK) {
    /* ST's HAL: every trial NACKed, so the wait for an ACK timed out. */
    hi2c->ErrorCode |= HAL_I2C_ERROR_TIMEOUT;
    st = HAL_ERROR;
  }
  trace_xfer("ready", &x, trials, st);
  release(hi2c);
  mvnet_hal_restore_cancel(cs);
  return st;
}

HAL_I2C_StateTypeDef HAL_I2C_GetState(const I2C_HandleTypeDef *hi2c) {
  return hi2c->State;
}

HAL_I2C_ModeTypeDef HAL_I2C_GetMode(const I2C_HandleTypeDef *hi2c) {
  return hi2c->Mode;
}

uint32_t HAL_I2C_GetError(const I2C_HandleTypeDef *hi2c) {
  return hi2c->ErrorCode;
}

HAL_StatusTypeDef HAL_I2CEx_ConfigAnalogFilter(I2C_HandleTypeDef *hi2c, uint32_t AnalogFilter) {
  if (hi2c == NULL || bad_instance(hi2c)) {
    return HAL_ERROR;
  }
  if (!claim(hi2c, HAL_I2C_STATE_BUSY, HAL_I2C_MODE_NONE)) {
    return HAL_BUSY;
  }
  hi2c->Instance->CR1 = (hi2c->Instance->CR1 & ~I2C_CR1_ANFOFF) | (AnalogFilter & I2C_CR1_ANFOFF);
  release(hi2c);
  return HAL_OK;
}

HAL_StatusTypeDef HAL_I2CEx_ConfigDigitalFilter(I2C_HandleTypeDef *hi2c, uint32_t DigitalFilter) {
  if (hi2c == NULL || bad_instance(hi2c) || DigitalFilter > 0x0FU) {
    return HAL_ERROR;
  }
  if (!claim(hi2c, HAL_I2C_STATE_BUSY, HAL_I2C_MODE_NONE)) {
    return HAL_BUSY;
  }
  hi2c->Instance->CR1 = (hi2c->Instance->CR1 & ~I2C_CR1_DNF) | (DigitalFilter << I2C_CR1_DNF_Pos);
  release(hi2c);
  return HAL_OK;
}

HAL_StatusTypeDef HAL_I2C_Master_Transmit_IT(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint8_t *pData,
                                             uint16_t Size) {
  struct mvnet_periph_i2c_xfer x = {.addr = (DevAddress >> 1) & 0x7FU, .has_write = 1, .tx = pData, .tx_len = Size};
  return transfer_as(hi2c, "transmit_it", HAL_I2C_STATE_BUSY_TX, HAL_I2C_MODE_MASTER, &x, 1);
}

HAL_StatusTypeDef HAL_I2C_Master_Receive_IT(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint8_t *pData,
                                            uint16_t Size) {
  struct mvnet_periph_i2c_xfer x = {.addr = (DevAddress >> 1) & 0x7FU, .has_read = 1, .rx = pData, .rx_len = Size};
  return transfer_as(hi2c, "receive_it", HAL_I2C_STATE_BUSY_RX, HAL_I2C_MODE_MASTER, &x, 1);
}

HAL_StatusTypeDef HAL_I2C_Mem_Write_IT(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint16_t MemAddress,
                                       uint16_t MemAddSize, uint8_t *pData, uint16_t Size) {
  struct mvnet_periph_i2c_xfer x = {.addr = (DevAddress >> 1) & 0x7FU, .has_write = 1, .tx = pData, .tx_len = Size};
  return mem_transfer(hi2c, "mem_write_it", HAL_I2C_STATE_BUSY_TX, &x, MemAddress, MemAddSize, pData, Size, 1);
}

HAL_StatusTypeDef HAL_I2C_Mem_Read_IT(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint16_t MemAddress,
                                      uint16_t MemAddSize, uint8_t *pData, uint16_t Size) {
  struct mvnet_periph_i2c_xfer x = {
      .addr = (DevAddress >> 1) & 0x7FU, .has_write = 1, .has_read = 1, .rx = pData, .rx_len = Size};
  return mem_transfer(hi2c, "mem_read_it", HAL_I2C_STATE_BUSY_RX, &x, MemAddress, MemAddSize, pData, Size, 1);
}

/* finish_it completes an interrupt transfer: the handle is READY again,
 * then the callback ST's HAL calls for that transfer runs. */
static HAL_StatusTypeDef finish_it(I2C_HandleTypeDef *hi2c, uint32_t ok) {
  HAL_I2C_StateTypeDef state = hi2c->State;
  HAL_I2C_ModeTypeDef mode = hi2c->Mode;
  hi2c->XferISR = NULL;
  if (!ok) {
    hi2c->ErrorCode |= HAL_I2C_ERROR_AF;
  }
  release(hi2c);
  void (*cb)(I2C_HandleTypeDef *) = NULL;
  if (!ok) {
    cb = HAL_I2C_ErrorCallback;
  } else if (mode == HAL_I2C_MODE_MEM) {
    cb = state == HAL_I2C_STATE_BUSY_TX ? HAL_I2C_MemTxCpltCallback : HAL_I2C_MemRxCpltCallback;
  } else {
    cb = state == HAL_I2C_STATE_BUSY_TX ? HAL_I2C_MasterTxCpltCallback : HAL_I2C_MasterRxCpltCallback;
  }
  if (cb != NULL) {
    cb(hi2c);
  }
  return HAL_OK;
}

void HAL_I2C_EV_IRQHandler(I2C_HandleTypeDef *hi2c) {
  if (hi2c != NULL && hi2c->XferISR != NULL) {
    hi2c->XferISR(hi2c, 0U, 0U);
  }
}

void HAL_I2C_ER_IRQHandler(I2C_HandleTypeDef *hi2c) {
  (void)hi2c; /* errors complete through the event interrupt here */
}
