/*
 * mvnet_isr.h — internal: how the RTOS stand-in learns it runs in an ISR.
 *
 * Not for applications. On a Cortex-M, CMSIS-RTOS2 calls check the IPSR to
 * refuse blocking from interrupt handlers (osErrorISR, or osErrorParameter
 * for a non-zero timeout). On the host, handlers run on libmvnet's interrupt
 * thread, so the RTOS asks this hook instead. csdk/rtos/rtos_core.c holds a
 * weak default that returns 0 (never in an ISR); libmvnet overrides it to
 * return non-zero on its interrupt thread while a handler runs.
 */
#ifndef MVNET_RTOS_ISR_H
#define MVNET_RTOS_ISR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Non-zero when the calling thread is running an interrupt handler.
 * Must be cheap and must not block or call into the RTOS. */
int mvnet_in_isr(void);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_RTOS_ISR_H */
