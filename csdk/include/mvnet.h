/*
 * mvnet.h: extensions of mvnet's host C SDK that Microvisor does not have.
 * Applications do not need them; tests and tools may.
 */
#ifndef MVNET_H
#define MVNET_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Undelivered pends of device IRQ irqn: system pends (one per notification
 * record) plus one if NVIC_SetPendingIRQ set it. 0 for other numbers. */
uint32_t mvnet_irq_pending_count(int32_t irqn);

/* How many times the handler of device IRQ irqn has been called (or found
 * missing) since the process started. */
uint64_t mvnet_irq_delivered_count(int32_t irqn);

/* Blocks until no IRQ can be delivered right now — none is pending and
 * enabled, or interrupts are masked — and no handler is running, or until
 * timeout_ms passes. Returns 1 when idle, 0 on timeout. Must not be called
 * from a handler. */
int mvnet_irq_wait_idle(uint32_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_H */
