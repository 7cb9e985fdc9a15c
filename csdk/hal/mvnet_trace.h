/*
 * mvnet_trace.h — internal: how the HAL stand-ins record actions in the trace.
 *
 * Not for applications. libmvnet defines mvnet_trace_event() to append one
 * JSON line to its trace file; csdk/hal/hal_trace_default.c holds a weak
 * fallback (used when the HAL sources are linked without the library, as in
 * their own tests) that prints the line to stderr when the environment
 * variable MVNET_TRACE_STDERR is set to anything but "" or "0".
 */
#ifndef MVNET_HAL_TRACE_H
#define MVNET_HAL_TRACE_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Records one event.
 *   kind:        the event family, a plain identifier: "gpio", "uart".
 *   json_fields: the event's members as JSON object members without the
 *                enclosing braces, comma-separated, already escaped, e.g.
 *                "\"op\":\"write\",\"port\":\"GPIOA\",\"pin\":5,\"level\":1";
 *                may be "" (never NULL). No "kind" member: the callee adds it
 *                (and whatever else it stamps, such as a time).
 * The strings are only borrowed for the call. Safe to call from any thread,
 * including the interrupt thread; must not call back into the HAL.
 */
void mvnet_trace_event(const char *kind, const char *json_fields);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_HAL_TRACE_H */
