/*
 * irq.h: libmvnet's interrupt controller, between its Go and C halves.
 * The application-facing calls are declared in stm32u585xx.h and mvnet.h.
 */
#ifndef MVNET_LIB_IRQ_H
#define MVNET_LIB_IRQ_H

#include <stdint.h>

/* Pends irq once for the system (a notification record was written); the
 * pends are counted. Never blocks for long; safe with the kernel's lock
 * held. Starts the interrupt thread on first use. Out-of-range IRQs are
 * ignored. */
void mvnet_irq_pend(uint32_t irq);

/* Sets the calling thread's signal mask back to the one the process started
 * with (startup.c), so that the image mvRestart or NVIC_SystemReset
 * executes does not inherit the interrupt thread's, which blocks every
 * asynchronous signal. */
void mvnet_restore_signal_mask(void);

/* A counted interrupt mask, beside PRIMASK's flag: while any enter is not
 * matched by its exit, no handler starts. Enter waits for a running handler
 * to return (unless called from one), so the caller holds no lock a handler
 * may wait for while it waits. The RTOS stand-in's task-level critical
 * sections use it (csdk/rtos/freertos_port.c), as taskENTER_CRITICAL masks
 * interrupts on the device. */
void mvnet_irq_mask_enter(void);
void mvnet_irq_mask_exit(void);

/* Whether the interrupt thread reports each delivery to Go (for the trace). */
void mvnet_irq_set_trace(int on);

/* The handler for device IRQ n, or NULL if the application defines none
 * (vectors.c), and its vector name. */
typedef void (*mvnet_handler)(void);
mvnet_handler mvnet_vector(int irq);
const char *mvnet_vector_name(int irq);

#endif
