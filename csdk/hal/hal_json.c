//go:build ignore

/*
 * hal_json.c — JSON string escaping for trace fields.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#include <stdio.h>

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
