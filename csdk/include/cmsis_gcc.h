/*
 * cmsis_gcc.h: the host C SDK's stand-in for CMSIS's GCC compiler header.
 *
 * On a Cortex-M this header holds the compiler abstractions (__STATIC_INLINE,
 * __WEAK, __ALIGNED …) and the core intrinsics, each one instruction. On the
 * host there is no Cortex-M to run them on: the intrinsics here are static
 * inline functions and macros with the nearest host meaning, so code that
 * uses them compiles unchanged (C11 and C++17, warning-free):
 *
 *   __NOP()              a no-op instruction
 *   __DMB() __DSB() __ISB()
 *                        a full memory fence (__atomic_thread_fence, seq_cst):
 *                        the handler thread and the application's threads do
 *                        see each other's writes in order across it
 *   __WFI()              waits until an interrupt is pended or a handler
 *                        returns, for at most 1 ms (as the HAL's 1 kHz SysTick
 *                        would wake the core); returns at once in a handler
 *   __WFE() __SEV()      the event register: __SEV sets it and wakes __WFE;
 *                        __WFE returns at once, clearing it, if it is set,
 *                        else waits like __WFI (a handler's return sets it)
 *   __BKPT(value)        raise(SIGTRAP): a debugger stops there; without one
 *                        the process ends (a device without one faults too)
 *   __enable_irq() __disable_irq() __get_PRIMASK() __set_PRIMASK(m)
 *                        interrupt masking, see stm32u585xx.h
 *   __get_IPSR()         0 outside handlers; inside one, the exception number
 *                        of its IRQ (IRQn + 16), as on the device
 *   __REV() __REV16() __REVSH() __RBIT() __CLZ()
 *                        bit and byte manipulation, as the instructions define
 *
 * __WFI, __WFE, __SEV and __get_IPSR call libmvnet's interrupt controller
 * (the mvnet_* functions below); the rest need no library. Other special
 * registers (CONTROL, BASEPRI, FAULTMASK, MSP, PSP) and the exclusive-access
 * intrinsics are not provided.
 *
 * Names are CMSIS's; the text is mvnet's.
 */
#ifndef MVNET_CMSIS_GCC_H
#define MVNET_CMSIS_GCC_H

#include <signal.h>
#include <stdint.h>

/* ---- Compiler abstractions (CMSIS names) -------------------------------- */
#ifndef __ASM
#define __ASM __asm__
#endif
#ifndef __INLINE
#define __INLINE inline
#endif
#ifndef __STATIC_INLINE
#define __STATIC_INLINE static inline
#endif
#ifndef __STATIC_FORCEINLINE
#define __STATIC_FORCEINLINE __attribute__((always_inline)) static inline
#endif
#ifndef __NO_RETURN
#define __NO_RETURN __attribute__((__noreturn__))
#endif
#ifndef __USED
#define __USED __attribute__((used))
#endif
#ifndef __WEAK
#define __WEAK __attribute__((weak))
#endif
#ifndef __PACKED
#define __PACKED __attribute__((packed, aligned(1)))
#endif
#ifndef __PACKED_STRUCT
#define __PACKED_STRUCT struct __attribute__((packed, aligned(1)))
#endif
#ifndef __PACKED_UNION
#define __PACKED_UNION union __attribute__((packed, aligned(1)))
#endif
#ifndef __ALIGNED
#define __ALIGNED(x) __attribute__((aligned(x)))
#endif
#ifndef __RESTRICT
#define __RESTRICT __restrict
#endif
#ifndef __COMPILER_BARRIER
#define __COMPILER_BARRIER() __asm__ volatile("" ::: "memory")
#endif

/*
 * MVNET_VISIBLE marks the application functions and data libmvnet looks up
 * or calls by name (handlers, HAL hooks, SystemCoreClock): declared with it,
 * they stay visible to libmvnet.so even when the application is compiled
 * with -fvisibility=hidden.
 */
#ifndef MVNET_VISIBLE
#if defined(__GNUC__)
#define MVNET_VISIBLE __attribute__((visibility("default")))
#else
#define MVNET_VISIBLE
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- libmvnet's interrupt controller (csdk/lib/nvic.c) ------------------ */

/*
 * Interrupt masking (PRIMASK). __disable_irq() stops handlers from starting
 * and waits for one that is running to return; __enable_irq() lets pending
 * ones run. __get_PRIMASK() is 1 while masked.
 */
void     __enable_irq(void);
void     __disable_irq(void);
uint32_t __get_PRIMASK(void);

/* Non-zero on the interrupt thread while a handler runs: the handler's
 * exception number (IRQn + 16). */
int  mvnet_in_isr(void);
/* The waits behind __WFI and __WFE, and __SEV. */
void mvnet_wait_for_interrupt(void);
void mvnet_wait_for_event(void);
void mvnet_send_event(void);

/* ---- Core intrinsics ----------------------------------------------------- */

static inline void __NOP(void) { __asm__ volatile("nop"); }
static inline void __WFI(void) { mvnet_wait_for_interrupt(); }
static inline void __WFE(void) { mvnet_wait_for_event(); }
static inline void __SEV(void) { mvnet_send_event(); }
static inline void __ISB(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __DSB(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __DMB(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/* __BKPT(value): the value (an immediate on the device) is ignored. */
static inline void mvnet_breakpoint(uint32_t value) {
  (void)value;
  raise(SIGTRAP);
}
#define __BKPT(value) mvnet_breakpoint((uint32_t)(value))

/* PRIMASK bit 0 set masks interrupts, as __disable_irq() does. */
static inline void __set_PRIMASK(uint32_t priMask) {
  if ((priMask & 1U) != 0U) {
    __disable_irq();
  } else {
    __enable_irq();
  }
}

static inline uint32_t __get_IPSR(void) { return (uint32_t)mvnet_in_isr(); }

static inline uint32_t __REV(uint32_t value) { return __builtin_bswap32(value); }
static inline uint32_t __REV16(uint32_t value) {
  return ((value & 0xFF00FF00U) >> 8) | ((value & 0x00FF00FFU) << 8);
}
static inline int16_t __REVSH(int16_t value) {
  return (int16_t)__builtin_bswap16((uint16_t)value);
}
static inline uint32_t __RBIT(uint32_t value) {
  uint32_t r = 0U;
  for (int i = 0; i < 32; i++) {
    r = (r << 1) | (value & 1U);
    value >>= 1;
  }
  return r;
}
/* Leading zeros; 32 for 0, as the CLZ instruction gives. */
static inline uint8_t __CLZ(uint32_t value) {
  return value == 0U ? (uint8_t)32U : (uint8_t)__builtin_clz(value);
}

#ifdef __cplusplus
}
#endif

#endif /* MVNET_CMSIS_GCC_H */
