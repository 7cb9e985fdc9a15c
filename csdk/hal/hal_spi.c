//go:build ignore

/*
 * hal_spi.c — SPI controller handles whose transfers run on the simulated
 * buses of package periph (csdk/hal/mvnet_periph.h).
 *
 * Each blocking call clocks Size frames full-duplex on the bus of the same
 * name: the selected device sees every byte sent and answers with one.
 * HAL_SPI_Transmit drops what comes back; HAL_SPI_Receive sends 0xFF bytes
 * (what the peripheral clocks out in receive-only use here). A device is
 * selected by its chip select: a GPIO output pin driven low (the GPIO hook
 * mvnet_periph_gpio, called by hal_gpio.c for every output it drives) or,
 * with Init.NSS = SPI_NSS_HARD_OUTPUT, the NSS line for the length of the
 * call. Frames wider than 8 bits go out most significant byte first, in
 * (bits+7)/8 bytes each (a 24-bit frame is 3 bytes on the wire, 4 in
 * memory).
 *
 * Trace events (kind "spi"), one per call:
 *   {"op":"transmit_receive","bus":"SPI1","cs":"PA4","w":"8f 00","r":"ff 33","status":"HAL_OK","device":"lis3dh"}
 *   {"op":"receive","bus":"SPI2","w":"ff","r":"ff","status":"HAL_OK"}   (nothing selected)
 *   ops: init, deinit, transmit, receive, transmit_receive; bytes cut at 64
 *   (then "truncated":true).
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
#include "stm32u5xx_hal_spi.h"
#include "hal_internal.h"
#include "mvnet_periph.h"
#include "mvnet_trace.h"

SPI_TypeDef mvnet_spi[MVNET_SPI_COUNT];

extern void HAL_SPI_MspInit(SPI_HandleTypeDef *hspi) __attribute__((weak));
extern void HAL_SPI_MspDeInit(SPI_HandleTypeDef *hspi) __attribute__((weak));

/* The buses: libmvnet's, or none when linked without it (mvnet_periph.h). */
extern void mvnet_periph_spi(struct mvnet_periph_spi_xfer *x) __attribute__((weak));

static pthread_once_t spis_once = PTHREAD_ONCE_INIT;
static SPI_TypeDef *spis_base;

static void find_spis(void) {
  spis_base = mvnet_hal_canonical("mvnet_spi", mvnet_spi);
}

static const char *const spi_names[MVNET_SPI_COUNT] = {"SPI1", "SPI2", "SPI3"};


static int spi_index(const SPI_TypeDef *p) {
  pthread_once(&spis_once, find_spis);
  for (int i = 0; i < MVNET_SPI_COUNT; i++) {
    if (p == &spis_base[i]) {
      return i;
    }
  }
  return -1;
}

static void trace(const char *fields) {
  mvnet_trace_event("spi", fields);
}

static int claim(SPI_HandleTypeDef *hspi, HAL_SPI_StateTypeDef to) {
  int ok;
  MVNET_HAL_CLAIM(hspi, HAL_SPI_STATE_READY, to, ok);
  return ok;
}

static void release(SPI_HandleTypeDef *hspi) {
  MVNET_HAL_RELEASE(hspi, HAL_SPI_STATE_READY);
}

HAL_StatusTypeDef HAL_SPI_Init(SPI_HandleTypeDef *hspi) {
  if (hspi == NULL) {
    return HAL_ERROR;
  }
  int i = spi_index(hspi->Instance);
  if (i < 0) {
    trace("\"op\":\"init\",\"error\":\"bad instance\"");
    return HAL_ERROR;
  }
  if (hspi->State == HAL_SPI_STATE_RESET) {
    hspi->Lock = HAL_UNLOCKED;
    if (HAL_SPI_MspInit != NULL) {
      HAL_SPI_MspInit(hspi);
    }
  }
  hspi->State = HAL_SPI_STATE_BUSY;
  SPI_TypeDef *p = hspi->Instance;
  p->CR1 = 0U;
  p->CFG1 = hspi->Init.BaudRatePrescaler | hspi->Init.CRCCalculation | hspi->Init.FifoThreshold |
            (hspi->Init.DataSize & SPI_CFG1_DSIZE);
  p->CFG2 = hspi->Init.NSSPMode | hspi->Init.TIMode | hspi->Init.NSSPolarity | hspi->Init.NSS | hspi->Init.CLKPolarity |
            hspi->Init.CLKPhase | hspi->Init.FirstBit | hspi->Init.Mode | hspi->Init.MasterInterDataIdleness |
            hspi->Init.Direction | hspi->Init.MasterSSIdleness | hspi->Init.IOSwap | hspi->Init.MasterKeepIOState;
  hspi->ErrorCode = HAL_SPI_ERROR_NONE;
  hspi->State = HAL_SPI_STATE_READY;

  char buf[128];
  snprintf(buf, sizeof buf, "\"op\":\"init\",\"bus\":\"%s\",\"mode\":\"%s\",\"nss\":\"%s\"", spi_names[i],
           hspi->Init.Mode == SPI_MODE_MASTER ? "controller" : "target",
           hspi->Init.NSS == SPI_NSS_HARD_OUTPUT ? "hard_output"
           : hspi->Init.NSS == SPI_NSS_SOFT      ? "soft"
                                                 : "hard_input");
  trace(buf);
  return HAL_OK;
}

HAL_StatusTypeDef HAL_SPI_DeInit(SPI_HandleTypeDef *hspi) {
  if (hspi == NULL) {
    return HAL_ERROR;
  }
  int i = spi_index(hspi->Instance);
  if (i < 0) {
    return HAL_ERROR;
  }
  hspi->State = HAL_SPI_STATE_BUSY;
  hspi->Instance->CR1 = 0U;
  if (HAL_SPI_MspDeInit != NULL) {
    HAL_SPI_MspDeInit(hspi);
  }
  hspi->ErrorCode = HAL_SPI_ERROR_NONE;
  hspi->State = HAL_SPI_STATE_RESET;
  hspi->Lock = HAL_UNLOCKED;

  char buf[64];
  snprintf(buf, sizeof buf, "\"op\":\"deinit\",\"bus\":\"%s\"", spi_names[i]);
  trace(buf);
  return HAL_OK;
}

/* frame_bits is the width of one frame: 4…32 bits. In memory a frame
 * takes 1, 2 or 4 bytes (frame_bytes); on the wire (bits+7)/8
 * (wire_bytes): a 24-bit frame is 3. */
static uint32_t frame_bits(const SPI_HandleTypeDef *hspi) {
  return (hspi->Init.DataSize & SPI_CFG1_DSIZE) + 1U;
}

static uint32_t frame_bytes(const SPI_HandleTypeDef *hspi) {
  uint32_t bits = frame_bits(hspi);
  return bits <= 8U ? 1U : bits <= 16U ? 2U : 4U;
}

static uint32_t wire_bytes(const SPI_HandleTypeDef *hspi) {
  return (frame_bits(hspi) + 7U) / 8U;
}

/* to_wire packs Size frames of fb bytes in memory (little-endian, as the
 * CPU stores them) into frames of wb bytes, most significant byte first;
 * from_wire unpacks them (the unused high bytes of a frame are 0). */
static void to_wire(uint8_t *wire, const uint8_t *mem, uint32_t frames, uint32_t fb, uint32_t wb) {
  for (uint32_t f = 0; f < frames; f++) {
    for (uint32_t k = 0; k < wb; k++) {
      wire[f * wb + k] = mem[f * fb + wb - 1U - k];
    }
  }
}

static void from_wire(uint8_t *mem, const uint8_t *wire, uint32_t frames, uint32_t fb, uint32_t wb) {
  for (uint32_t f = 0; f < frames; f++) {
    for (uint32_t k = 0; k < fb; k++) {
      mem[f * fb + k] = k < wb ? wire[f * wb + wb - 1U - k] : 0U;
    }
  }
}

static HAL_StatusTypeDef transfer(SPI_HandleTypeDef *hspi, const char *op, HAL_SPI_StateTypeDef state,
                                  const uint8_t *tx, uint8_t *rx, uint16_t Size) {
  if (hspi == NULL || spi_index(hspi->Instance) < 0) {
    return HAL_ERROR;
  }
  if (!claim(hspi, state)) {
    return HAL_BUSY;
  }
  if ((tx == NULL && rx == NULL) || Size == 0U) {
    hspi->ErrorCode = HAL_SPI_ERROR_NONE;
    release(hspi);
    return HAL_ERROR;
  }
  if (hspi->Init.Mode != SPI_MODE_MASTER) {
    /* Target mode would wait for a controller that does not exist. */
    hspi->ErrorCode = HAL_SPI_ERROR_NOT_SUPPORTED;
    release(hspi);
    return HAL_ERROR;
  }
  int cs = mvnet_hal_nocancel();
  hspi->ErrorCode = HAL_SPI_ERROR_NONE;
  uint32_t fb = frame_bytes(hspi), wb = wire_bytes(hspi);
  uint32_t n = (uint32_t)Size * wb; /* bytes on the wire */
  uint8_t *wire = malloc(2U * (size_t)n);
  HAL_StatusTypeDef st = HAL_OK;
  struct mvnet_periph_spi_xfer x = {.bus = (uint32_t)spi_index(hspi->Instance),
                                    .hard_nss = hspi->Init.NSS == SPI_NSS_HARD_OUTPUT,
                                    .len = n};
  if (wire == NULL) {
    hspi->ErrorCode = HAL_SPI_ERROR_UNKNOW;
    st = HAL_ERROR;
  } else {
    uint8_t *out = wire, *in = wire + n;
    if (tx != NULL) {
      to_wire(out, tx, Size, fb, wb);
    } else {
      memset(out, 0xFF, n);
    }
    memset(in, 0xFF, n);
    x.tx = out;
    x.rx = in;
    if (mvnet_periph_spi != NULL) {
      mvnet_periph_spi(&x);
    }
    char w[MVNET_HAL_TRACE_HEX_CAP] = "", r[MVNET_HAL_TRACE_HEX_CAP] = "";
    char esc[sizeof x.device * 6] = "";
    /* Sized from its parts, so no field is ever cut: the fixed text and
     * names, the chip select, both dumps and the escaped model name. */
    char buf[160 + sizeof x.cs + sizeof w + sizeof r + sizeof esc];
    int cut = mvnet_hal_append_hex(w, sizeof w, out, n, NULL, 0);
    cut |= mvnet_hal_append_hex(r, sizeof r, in, n, NULL, 0);
    int k = snprintf(buf, sizeof buf, "\"op\":\"%s\",\"bus\":\"%s\"", op, spi_names[x.bus]);
    if (x.cs[0] != '\0') {
      k += snprintf(buf + k, sizeof buf - (size_t)k, ",\"cs\":\"%s\"", x.cs);
    }
    k += snprintf(buf + k, sizeof buf - (size_t)k, ",\"w\":\"%s\",\"r\":\"%s\"%s,\"status\":\"HAL_OK\"", w, r,
                  cut ? ",\"truncated\":true" : "");
    if (x.device[0] != '\0') {
      mvnet_hal_json_escape(esc, sizeof esc, (const uint8_t *)x.device, strnlen(x.device, sizeof x.device));
      snprintf(buf + k, sizeof buf - (size_t)k, ",\"device\":\"%s\"", esc);
    }
    trace(buf);
    if (rx != NULL) {
      from_wire(rx, in, Size, fb, wb);
    }
    free(wire);
  }
  hspi->TxXferCount = 0U;
  hspi->RxXferCount = 0U;
  release(hspi);
  mvnet_hal_restore_cancel(cs);
  return st;
}

HAL_StatusTypeDef HAL_SPI_Transmit(SPI_HandleTypeDef *hspi, const uint8_t *pData, uint16_t Size, uint32_t Timeout) {
  (void)Timeout;
  if (pData == NULL) {
    return hspi == NULL ? HAL_ERROR : transfer(hspi, "transmit", HAL_SPI_STATE_BUSY_TX, NULL, NULL, 0);
  }
  return transfer(hspi, "transmit", HAL_SPI_STATE_BUSY_TX, pData, NULL, Size);
}

HAL_StatusTypeDef HAL_SPI_Receive(SPI_HandleTypeDef *hspi, uint8_t *pData, uint16_t Size, uint32_t Timeout) {
  (void)Timeout;
  if (pData == NULL) {
    return hspi == NULL ? HAL_ERROR : transfer(hspi, "receive", HAL_SPI_STATE_BUSY_RX, NULL, NULL, 0);
  }
  return transfer(hspi, "receive", HAL_SPI_STATE_BUSY_RX, NULL, pData, Size);
}

HAL_StatusTypeDef HAL_SPI_TransmitReceive(SPI_HandleTypeDef *hspi, const uint8_t *pTxData, uint8_t *pRxData,
                                          uint16_t Size, uint32_t Timeout) {
  (void)Timeout;
  if (pTxData == NULL || pRxData == NULL) {
    return hspi == NULL ? HAL_ERROR : transfer(hspi, "transmit_receive", HAL_SPI_STATE_BUSY_TX_RX, NULL, NULL, 0);
  }
  return transfer(hspi, "transmit_receive", HAL_SPI_STATE_BUSY_TX_RX, pTxData, pRxData, Size);
}

HAL_SPI_StateTypeDef HAL_SPI_GetState(const SPI_HandleTypeDef *hspi) {
  return hspi->State;
}

uint32_t HAL_SPI_GetError(const SPI_HandleTypeDef *hspi) {
  return hspi->ErrorCode;
}
