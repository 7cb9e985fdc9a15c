/*
 * core_cm33.h: the host C SDK's stand-in for CMSIS's Cortex-M33 core header.
 *
 * As with CMSIS, the device header stm32u585xx.h defines IRQn_Type and then
 * includes this one; included first, this header includes the device header,
 * which includes it back. It holds:
 *
 *   - the register qualifiers __I, __O, __IO, __IM, __OM, __IOM;
 *   - the CMSIS NVIC calls (functions in libmvnet; how they differ from a
 *     Cortex-M33 is described at the top of stm32u585xx.h);
 *   - the core intrinsics, through cmsis_gcc.h;
 *   - a minimal SCB: SCB->VTOR, SCB->AIRCR, SCB->SCR, SCB->CPACR … compile
 *     and read back what was written, but they are plain memory (one copy
 *     per source file) that nothing acts on: writing SYSRESETREQ to AIRCR
 *     does not reset, SLEEPDEEP does not sleep. Use NVIC_SystemReset().
 *   - SysTick_Config(), which succeeds and configures nothing: the host has
 *     no SysTick, and nothing calls SysTick_Handler.
 *
 * The other core peripherals (the NVIC and SysTick register blocks, MPU,
 * SAU, DWT, ITM, CoreDebug, FPU) are not provided.
 *
 * Names are CMSIS's; the text is mvnet's.
 */
#ifndef STM32U585xx_H
/* Included on its own: the device header comes first and includes us back. */
#include "stm32u585xx.h"
#else
#ifndef MVNET_CORE_CM33_H
#define MVNET_CORE_CM33_H

#include <stdint.h>

#include "cmsis_gcc.h"

/* No FPU state to configure on the host (CMSIS derives this from the
 * compiler's float ABI). */
#ifndef __FPU_USED
#define __FPU_USED 0U
#endif

/* ---- Register qualifiers (CMSIS core names) ------------------------------ */
#ifndef __I
#ifdef __cplusplus
#define __I volatile
#else
#define __I volatile const
#endif
#endif
#ifndef __O
#define __O volatile
#endif
#ifndef __IO
#define __IO volatile
#endif
#ifndef __IM
#define __IM volatile const
#endif
#ifndef __OM
#define __OM volatile
#endif
#ifndef __IOM
#define __IOM volatile
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- NVIC (functions in libmvnet) ---------------------------------------- */
void     NVIC_EnableIRQ(IRQn_Type IRQn);
void     NVIC_DisableIRQ(IRQn_Type IRQn);
uint32_t NVIC_GetEnableIRQ(IRQn_Type IRQn);     /* 1 if enabled */
void     NVIC_SetPendingIRQ(IRQn_Type IRQn);
void     NVIC_ClearPendingIRQ(IRQn_Type IRQn);
uint32_t NVIC_GetPendingIRQ(IRQn_Type IRQn);    /* 1 if any pend is waiting */
uint32_t NVIC_GetActive(IRQn_Type IRQn);        /* 1 while its handler runs */
void     NVIC_SetPriority(IRQn_Type IRQn, uint32_t priority);
uint32_t NVIC_GetPriority(IRQn_Type IRQn);
void     NVIC_SetPriorityGrouping(uint32_t PriorityGroup);
uint32_t NVIC_GetPriorityGrouping(void);
uint32_t NVIC_EncodePriority(uint32_t PriorityGroup, uint32_t PreemptPriority, uint32_t SubPriority);
void     NVIC_DecodePriority(uint32_t Priority, uint32_t PriorityGroup, uint32_t *pPreemptPriority, uint32_t *pSubPriority);
/* Restarts the application like mvRestart (the process re-executes itself). */
#if defined(__GNUC__)
__attribute__((noreturn))
#endif
void     NVIC_SystemReset(void);

/* ---- System control block (plain memory on the host) --------------------- */
/* The ARMv8-M layout; every field is writable here, CPUID reads 0. */
typedef struct {
  volatile uint32_t CPUID;
  volatile uint32_t ICSR;
  volatile uint32_t VTOR;
  volatile uint32_t AIRCR;
  volatile uint32_t SCR;
  volatile uint32_t CCR;
  volatile uint8_t  SHPR[12];
  volatile uint32_t SHCSR;
  volatile uint32_t CFSR;
  volatile uint32_t HFSR;
  volatile uint32_t DFSR;
  volatile uint32_t MMFAR;
  volatile uint32_t BFAR;
  volatile uint32_t AFSR;
  volatile uint32_t ID_PFR[2];
  volatile uint32_t ID_DFR;
  volatile uint32_t ID_ADR;
  volatile uint32_t ID_MMFR[4];
  volatile uint32_t ID_ISAR[6];
  volatile uint32_t CLIDR;
  volatile uint32_t CTR;
  volatile uint32_t CCSIDR;
  volatile uint32_t CSSELR;
  volatile uint32_t CPACR;
  volatile uint32_t NSACR;
} SCB_Type;

/* This source file's SCB: a zeroed block no library code reads. */
static inline SCB_Type *mvnet_scb(void) {
  static SCB_Type regs;
  return &regs;
}
#define SCB (mvnet_scb())

#define SCB_ICSR_VECTACTIVE_Pos     0U
#define SCB_ICSR_VECTACTIVE_Msk     (0x1FFUL << SCB_ICSR_VECTACTIVE_Pos)
#define SCB_AIRCR_VECTKEY_Pos       16U
#define SCB_AIRCR_VECTKEY_Msk       (0xFFFFUL << SCB_AIRCR_VECTKEY_Pos)
#define SCB_AIRCR_PRIGROUP_Pos      8U
#define SCB_AIRCR_PRIGROUP_Msk      (7UL << SCB_AIRCR_PRIGROUP_Pos)
#define SCB_AIRCR_SYSRESETREQ_Pos   2U
#define SCB_AIRCR_SYSRESETREQ_Msk   (1UL << SCB_AIRCR_SYSRESETREQ_Pos)
#define SCB_SCR_SEVONPEND_Pos       4U
#define SCB_SCR_SEVONPEND_Msk       (1UL << SCB_SCR_SEVONPEND_Pos)
#define SCB_SCR_SLEEPDEEP_Pos       2U
#define SCB_SCR_SLEEPDEEP_Msk       (1UL << SCB_SCR_SLEEPDEEP_Pos)
#define SCB_SCR_SLEEPONEXIT_Pos     1U
#define SCB_SCR_SLEEPONEXIT_Msk     (1UL << SCB_SCR_SLEEPONEXIT_Pos)
#define SCB_SHCSR_USGFAULTENA_Pos   18U
#define SCB_SHCSR_USGFAULTENA_Msk   (1UL << SCB_SHCSR_USGFAULTENA_Pos)
#define SCB_SHCSR_BUSFAULTENA_Pos   17U
#define SCB_SHCSR_BUSFAULTENA_Msk   (1UL << SCB_SHCSR_BUSFAULTENA_Pos)
#define SCB_SHCSR_MEMFAULTENA_Pos   16U
#define SCB_SHCSR_MEMFAULTENA_Msk   (1UL << SCB_SHCSR_MEMFAULTENA_Pos)

/* ---- SysTick --------------------------------------------------------------- */
/* Succeeds (0) and configures nothing: see the notes at the top. */
static inline uint32_t SysTick_Config(uint32_t ticks) {
  (void)ticks;
  return 0U;
}

#ifdef __cplusplus
}
#endif

#endif /* MVNET_CORE_CM33_H */
#endif /* STM32U585xx_H */
