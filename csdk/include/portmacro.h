/*
 * portmacro.h — mvnet host stand-in for the FreeRTOS port layer's
 * definitions (the ARM_CM33 port's types and macro names). Included by
 * FreeRTOS.h.
 *
 * On the host, tasks are threads that run in parallel. A task's critical
 * section (taskENTER_CRITICAL / portENTER_CRITICAL) masks libmvnet's
 * interrupt thread, as on the device no handler runs inside one, and takes
 * one process-wide lock, taken also by vTaskSuspendAll and, alone, by a
 * handler's taskENTER_CRITICAL_FROM_ISR: code inside one excludes every
 * other task and handler inside one. It does not stop a task that takes no
 * such lock. portDISABLE_INTERRUPTS masks libmvnet's interrupt thread
 * (__disable_irq) when libmvnet is linked (csdk/rtos/freertos_port.c).
 */
#ifndef PORTMACRO_H
#define PORTMACRO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define portCHAR char
#define portFLOAT float
#define portDOUBLE double
#define portLONG long
#define portSHORT short
#define portSTACK_TYPE uint32_t
#define portBASE_TYPE long

typedef portSTACK_TYPE StackType_t;
typedef long BaseType_t;
typedef unsigned long UBaseType_t;
typedef uint32_t TickType_t;
#define portMAX_DELAY ((TickType_t)0xffffffffUL)
#define portTICK_TYPE_IS_ATOMIC 1

#define portSTACK_GROWTH (-1)
#define portTICK_PERIOD_MS ((TickType_t)1000 / configTICK_RATE_HZ)
#define portBYTE_ALIGNMENT 8
#define portBYTE_ALIGNMENT_MASK (0x0007)
#define portARCH_NAME "mvnet-host"
#define portNOP()
#define portMEMORY_BARRIER() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define portDONT_DISCARD __attribute__((used))
#define portFORCE_INLINE inline __attribute__((always_inline))

/* Scheduling. */
void vPortYield(void);
#define portYIELD() vPortYield()
#define portEND_SWITCHING_ISR(xSwitchRequired) \
  do {                                         \
    if ((xSwitchRequired) != pdFALSE) {        \
      portYIELD();                             \
    }                                          \
  } while (0)
#define portYIELD_FROM_ISR(x) portEND_SWITCHING_ISR(x)

/* Critical sections and interrupt masking. */
void vPortEnterCritical(void);
void vPortExitCritical(void);
uint32_t ulSetInterruptMask(void);
void vClearInterruptMask(uint32_t ulMask);
void vPortDisableInterrupts(void);
void vPortEnableInterrupts(void);
#define portSET_INTERRUPT_MASK_FROM_ISR() ulSetInterruptMask()
#define portCLEAR_INTERRUPT_MASK_FROM_ISR(x) vClearInterruptMask(x)
#define portDISABLE_INTERRUPTS() vPortDisableInterrupts()
#define portENABLE_INTERRUPTS() vPortEnableInterrupts()
#define portENTER_CRITICAL() vPortEnterCritical()
#define portEXIT_CRITICAL() vPortExitCritical()

/* Task function prototypes, as the port gives them. */
#define portTASK_FUNCTION_PROTO(vFunction, pvParameters) void vFunction(void *pvParameters)
#define portTASK_FUNCTION(vFunction, pvParameters) void vFunction(void *pvParameters)

/* The port's exception handlers. The host's tick is the monotonic clock, so
 * these do nothing; they exist for stm32u5xx_it.c files that call
 * xPortSysTickHandler() from SysTick_Handler. */
void vPortSVCHandler(void);
void xPortPendSVHandler(void);
void xPortSysTickHandler(void);

#ifdef __cplusplus
}
#endif

#endif /* PORTMACRO_H */
