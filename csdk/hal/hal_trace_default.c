//go:build ignore

/*
 * hal_trace_default.c — the trace hook's weak fallback.
 *
 * libmvnet provides the real mvnet_trace_event() (one JSON line per event in
 * its trace file). When the HAL sources run without it — their own tests, or
 * an application linked against them alone — this fallback prints
 * {"kind":"<kind>",<fields>} to stderr if MVNET_TRACE_STDERR is set to
 * anything but "" or "0", and drops the event otherwise.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvnet_trace.h"

static pthread_once_t trace_once = PTHREAD_ONCE_INIT;
static int trace_to_stderr;

static void trace_read_env(void) {
  const char *v = getenv("MVNET_TRACE_STDERR");
  trace_to_stderr = v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

__attribute__((weak)) void mvnet_trace_event(const char *kind, const char *json_fields) {
  pthread_once(&trace_once, trace_read_env);
  if (!trace_to_stderr) {
    return;
  }
  const char *sep = (json_fields != NULL && json_fields[0] != '\0') ? "," : "";
  /* One fprintf: stdio locks the stream per call, so lines never interleave. */
  fprintf(stderr, "{\"kind\":\"%s\"%s%s}\n", kind, sep, json_fields != NULL ? json_fields : "");
}
