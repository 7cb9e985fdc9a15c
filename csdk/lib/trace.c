/*
 * trace.c: the trace hook of the HAL stand-in (csdk/hal/mvnet_trace.h).
 * libmvnet's definition replaces the HAL's weak fallback and writes the
 * event as one line of the MVNET_TRACE file, stamped like the others.
 */
#include "_cgo_export.h"

void mvnet_trace_event(const char *kind, const char *json_fields) {
	mvnet_go_trace_event((char *)kind, (char *)(json_fields != NULL ? json_fields : ""));
}
