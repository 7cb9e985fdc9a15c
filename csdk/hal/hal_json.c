//go:build ignore

/*
 * hal_json.c — what the HAL's trace lines share: JSON string escaping, hex
 * dumps of transfers, and the lock of the handles' State/Lock hand-over
 * (hal_internal.h).
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "hal_internal.h"

size_t mvnet_hal_json_escape(char *dst, size_t cap, const uint8_t *src, size_t n) {
  size_t out = 0;
  size_t i = 0;
  for (; i < n; i++) {
    char esc[8];
    size_t len;
    uint8_t c = src[i];
    switch (c) {
    case '"': len = 2; esc[0] = '\\'; esc[1] = '"'; break;
    case '\\': len = 2; esc[0] = '\\'; esc[1] = '\\'; break;
    case '\n': len = 2; esc[0] = '\\'; esc[1] = 'n'; break;
    case '\r': len = 2; esc[0] = '\\'; esc[1] = 'r'; break;
    case '\t': len = 2; esc[0] = '\\'; esc[1] = 't'; break;
    default:
      if (c < 0x20 || c >= 0x7f) {
        len = (size_t)snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
      } else {
        len = 1;
        esc[0] = (char)c;
      }
    }
    if (out + len >= cap) {
      break;
    }
    for (size_t k = 0; k < len; k++) {
      dst[out++] = esc[k];
    }
  }
  dst[out] = '\0';
  return i;
}

int mvnet_hal_append_hex(char *dst, size_t cap, const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn) {
  size_t out = strlen(dst);
  uint32_t shown = 0;
  for (uint32_t i = 0; i < an + bn; i++) {
    if (shown == MVNET_HAL_TRACE_BYTES_MAX || out + 4 >= cap) {
      return 1;
    }
    uint8_t c = i < an ? a[i] : b[i - an];
    out += (size_t)snprintf(dst + out, cap - out, "%s%02x", shown > 0 ? " " : "", c);
    shown++;
  }
  return 0;
}

static pthread_mutex_t handles_mu = PTHREAD_MUTEX_INITIALIZER;

void mvnet_hal_handles_lock(void) {
  pthread_mutex_lock(&handles_mu);
}

void mvnet_hal_handles_unlock(void) {
  pthread_mutex_unlock(&handles_mu);
}
