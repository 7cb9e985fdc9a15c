/*
 * stm32u585xx.h: the host C SDK's stand-in for the STM32U585 device header.
 *
 * On a Microvisor device this header describes the MCU's registers. On the
 * host there are no registers: this one keeps what Microvisor applications
 * use to take interrupts — the IRQn_Type enumeration with the STM32U585's
 * interrupt numbers, the handler names of its vector table, and (through
 * core_cm33.h and cmsis_gcc.h, as with CMSIS) the NVIC calls, the core
 * intrinsics and a minimal SCB — so that their interrupt code compiles
 * unchanged. The NVIC calls are functions implemented by libmvnet, not
 * register accesses. system_stm32u5xx.h declares SystemCoreClock and its
 * update functions; stm32u5xx.h is the family header that includes this one.
 *
 * How interrupts differ from a Cortex-M33 (see csdk/README.md):
 *   - Handlers run on one interrupt thread owned by libmvnet, beside the
 *     application's threads, instead of preempting the CPU. One handler runs
 *     at a time; it is never nested or preempted by another handler.
 *   - Pends from the system (one per notification record) are counted, not
 *     collapsed into one pending bit: a handler runs once per record.
 *     NVIC_SetPendingIRQ sets the pending state like hardware (at most one
 *     pend of its own); NVIC_ClearPendingIRQ drops every pend of the IRQ.
 *   - A handler runs only while its IRQ is enabled and interrupts are not
 *     masked with __disable_irq(); pends are kept meanwhile and delivered on
 *     enable. Among deliverable IRQs the lowest priority value goes first,
 *     then the lowest IRQ number.
 *   - NVIC_DisableIRQ and __disable_irq wait for a handler that is running
 *     (on the interrupt thread) to return, so code after them does not run
 *     alongside that handler, as on a single core. Called from a handler
 *     they do not wait.
 *   - A handler is found by its vector name (e.g. TIM8_BRK_IRQHandler for
 *     IRQ 51). An IRQ whose handler the application does not define is
 *     consumed and recorded as unhandled in the trace (MVNET_TRACE).
 *   - System exceptions (negative IRQn) are accepted by the calls below and
 *     otherwise ignored: the host raises no faults, SysTick or PendSV.
 *
 * Names and numbers are the STM32U585's; the text is mvnet's.
 */

#ifndef STM32U585xx_H
#define STM32U585xx_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Core configuration of the STM32U585's Cortex-M33. */
#define __CM33_REV             0x0000U
#define __SAUREGION_PRESENT    1U
#define __MPU_PRESENT          1U
#define __VTOR_PRESENT         1U
#define __NVIC_PRIO_BITS       4U  /* priorities 0 (highest) to 15 */
#define __Vendor_SysTickConfig 0U
#define __FPU_PRESENT          1U
#define __DSP_PRESENT          1U

/* Interrupt numbers: Cortex-M33 exceptions (negative) and device IRQs. */
typedef enum
{
  Reset_IRQn            = -15, /* reset */
  NonMaskableInt_IRQn   = -14, /* non-maskable interrupt */
  HardFault_IRQn        = -13, /* hard fault */
  MemoryManagement_IRQn = -12, /* memory management fault */
  BusFault_IRQn         = -11, /* bus fault */
  UsageFault_IRQn       = -10, /* usage fault */
  SecureFault_IRQn      =  -9, /* secure fault */
  SVCall_IRQn           =  -5, /* supervisor call */
  DebugMonitor_IRQn     =  -4, /* debug monitor */
  PendSV_IRQn           =  -2, /* pendable service request */
  SysTick_IRQn          =  -1, /* system tick timer */

  WWDG_IRQn             = 0,
  PVD_AVD_IRQn          = 1,
  RTC_IRQn              = 2,
  RTC_S_IRQn            = 3,
  TAMP_IRQn             = 4,
  RAMCFG_IRQn           = 5,
  FLASH_IRQn            = 6,
  FLASH_S_IRQn          = 7,
  GTZC_IRQn             = 8,
  RCC_IRQn              = 9,
  RCC_S_IRQn            = 10,
  EXTI0_IRQn            = 11,
  EXTI1_IRQn            = 12,
  EXTI2_IRQn            = 13,
  EXTI3_IRQn            = 14,
  EXTI4_IRQn            = 15,
  EXTI5_IRQn            = 16,
  EXTI6_IRQn            = 17,
  EXTI7_IRQn            = 18,
  EXTI8_IRQn            = 19,
  EXTI9_IRQn            = 20,
  EXTI10_IRQn           = 21,
  EXTI11_IRQn           = 22,
  EXTI12_IRQn           = 23,
  EXTI13_IRQn           = 24,
  EXTI14_IRQn           = 25,
  EXTI15_IRQn           = 26,
  IWDG_IRQn             = 27,
  SAES_IRQn             = 28,
  GPDMA1_Channel0_IRQn  = 29,
  GPDMA1_Channel1_IRQn  = 30,
  GPDMA1_Channel2_IRQn  = 31,
  GPDMA1_Channel3_IRQn  = 32,
  GPDMA1_Channel4_IRQn  = 33,
  GPDMA1_Channel5_IRQn  = 34,
  GPDMA1_Channel6_IRQn  = 35,
  GPDMA1_Channel7_IRQn  = 36,
  ADC1_IRQn             = 37,
  DAC1_IRQn             = 38,
  FDCAN1_IT0_IRQn       = 39,
  FDCAN1_IT1_IRQn       = 40,
  TIM1_BRK_IRQn         = 41,
  TIM1_UP_IRQn          = 42,
  TIM1_TRG_COM_IRQn     = 43,
  TIM1_CC_IRQn          = 44,
  TIM2_IRQn             = 45,
  TIM3_IRQn             = 46,
  TIM4_IRQn             = 47,
  TIM5_IRQn             = 48,
  TIM6_IRQn             = 49,
  TIM7_IRQn             = 50,
  TIM8_BRK_IRQn         = 51,
  TIM8_UP_IRQn          = 52,
  TIM8_TRG_COM_IRQn     = 53,
  TIM8_CC_IRQn          = 54,
  I2C1_EV_IRQn          = 55,
  I2C1_ER_IRQn          = 56,
  I2C2_EV_IRQn          = 57,
  I2C2_ER_IRQn          = 58,
  SPI1_IRQn             = 59,
  SPI2_IRQn             = 60,
  USART1_IRQn           = 61,
  USART2_IRQn           = 62,
  USART3_IRQn           = 63,
  UART4_IRQn            = 64,
  UART5_IRQn            = 65,
  LPUART1_IRQn          = 66,
  LPTIM1_IRQn           = 67,
  LPTIM2_IRQn           = 68,
  TIM15_IRQn            = 69,
  TIM16_IRQn            = 70,
  TIM17_IRQn            = 71,
  COMP_IRQn             = 72,
  OTG_FS_IRQn           = 73,
  CRS_IRQn              = 74,
  FMC_IRQn              = 75,
  OCTOSPI1_IRQn         = 76,
  PWR_S3WU_IRQn         = 77,
  SDMMC1_IRQn           = 78,
  SDMMC2_IRQn           = 79,
  GPDMA1_Channel8_IRQn  = 80,
  GPDMA1_Channel9_IRQn  = 81,
  GPDMA1_Channel10_IRQn = 82,
  GPDMA1_Channel11_IRQn = 83,
  GPDMA1_Channel12_IRQn = 84,
  GPDMA1_Channel13_IRQn = 85,
  GPDMA1_Channel14_IRQn = 86,
  GPDMA1_Channel15_IRQn = 87,
  I2C3_EV_IRQn          = 88,
  I2C3_ER_IRQn          = 89,
  SAI1_IRQn             = 90,
  SAI2_IRQn             = 91,
  TSC_IRQn              = 92,
  AES_IRQn              = 93,
  RNG_IRQn              = 94,
  FPU_IRQn              = 95,
  HASH_IRQn             = 96,
  PKA_IRQn              = 97,
  LPTIM3_IRQn           = 98,
  SPI3_IRQn             = 99,
  I2C4_ER_IRQn          = 100,
  I2C4_EV_IRQn          = 101,
  MDF1_FLT0_IRQn        = 102,
  MDF1_FLT1_IRQn        = 103,
  MDF1_FLT2_IRQn        = 104,
  MDF1_FLT3_IRQn        = 105,
  UCPD1_IRQn            = 106,
  ICACHE_IRQn           = 107,
  OTFDEC1_IRQn          = 108,
  OTFDEC2_IRQn          = 109,
  LPTIM4_IRQn           = 110,
  DCACHE1_IRQn          = 111,
  ADF1_IRQn             = 112,
  ADC4_IRQn             = 113,
  LPDMA1_Channel0_IRQn  = 114,
  LPDMA1_Channel1_IRQn  = 115,
  LPDMA1_Channel2_IRQn  = 116,
  LPDMA1_Channel3_IRQn  = 117,
  DMA2D_IRQn            = 118,
  DCMI_PSSI_IRQn        = 119,
  OCTOSPI2_IRQn         = 120,
  MDF1_FLT4_IRQn        = 121,
  MDF1_FLT5_IRQn        = 122,
  CORDIC_IRQn           = 123,
  FMAC_IRQn             = 124
} IRQn_Type;

/* The number of device IRQs (0 to MVNET_IRQ_COUNT - 1). */
#define MVNET_IRQ_COUNT 125

/*
 * MVNET_STM32U585_IRQS(X) expands X(name, number) for every device IRQ in
 * order; the vector name of IRQ n is name##_IRQHandler.
 */
#define MVNET_STM32U585_IRQS(X) \
  X(WWDG, 0) \
  X(PVD_AVD, 1) \
  X(RTC, 2) \
  X(RTC_S, 3) \
  X(TAMP, 4) \
  X(RAMCFG, 5) \
  X(FLASH, 6) \
  X(FLASH_S, 7) \
  X(GTZC, 8) \
  X(RCC, 9) \
  X(RCC_S, 10) \
  X(EXTI0, 11) \
  X(EXTI1, 12) \
  X(EXTI2, 13) \
  X(EXTI3, 14) \
  X(EXTI4, 15) \
  X(EXTI5, 16) \
  X(EXTI6, 17) \
  X(EXTI7, 18) \
  X(EXTI8, 19) \
  X(EXTI9, 20) \
  X(EXTI10, 21) \
  X(EXTI11, 22) \
  X(EXTI12, 23) \
  X(EXTI13, 24) \
  X(EXTI14, 25) \
  X(EXTI15, 26) \
  X(IWDG, 27) \
  X(SAES, 28) \
  X(GPDMA1_Channel0, 29) \
  X(GPDMA1_Channel1, 30) \
  X(GPDMA1_Channel2, 31) \
  X(GPDMA1_Channel3, 32) \
  X(GPDMA1_Channel4, 33) \
  X(GPDMA1_Channel5, 34) \
  X(GPDMA1_Channel6, 35) \
  X(GPDMA1_Channel7, 36) \
  X(ADC1, 37) \
  X(DAC1, 38) \
  X(FDCAN1_IT0, 39) \
  X(FDCAN1_IT1, 40) \
  X(TIM1_BRK, 41) \
  X(TIM1_UP, 42) \
  X(TIM1_TRG_COM, 43) \
  X(TIM1_CC, 44) \
  X(TIM2, 45) \
  X(TIM3, 46) \
  X(TIM4, 47) \
  X(TIM5, 48) \
  X(TIM6, 49) \
  X(TIM7, 50) \
  X(TIM8_BRK, 51) \
  X(TIM8_UP, 52) \
  X(TIM8_TRG_COM, 53) \
  X(TIM8_CC, 54) \
  X(I2C1_EV, 55) \
  X(I2C1_ER, 56) \
  X(I2C2_EV, 57) \
  X(I2C2_ER, 58) \
  X(SPI1, 59) \
  X(SPI2, 60) \
  X(USART1, 61) \
  X(USART2, 62) \
  X(USART3, 63) \
  X(UART4, 64) \
  X(UART5, 65) \
  X(LPUART1, 66) \
  X(LPTIM1, 67) \
  X(LPTIM2, 68) \
  X(TIM15, 69) \
  X(TIM16, 70) \
  X(TIM17, 71) \
  X(COMP, 72) \
  X(OTG_FS, 73) \
  X(CRS, 74) \
  X(FMC, 75) \
  X(OCTOSPI1, 76) \
  X(PWR_S3WU, 77) \
  X(SDMMC1, 78) \
  X(SDMMC2, 79) \
  X(GPDMA1_Channel8, 80) \
  X(GPDMA1_Channel9, 81) \
  X(GPDMA1_Channel10, 82) \
  X(GPDMA1_Channel11, 83) \
  X(GPDMA1_Channel12, 84) \
  X(GPDMA1_Channel13, 85) \
  X(GPDMA1_Channel14, 86) \
  X(GPDMA1_Channel15, 87) \
  X(I2C3_EV, 88) \
  X(I2C3_ER, 89) \
  X(SAI1, 90) \
  X(SAI2, 91) \
  X(TSC, 92) \
  X(AES, 93) \
  X(RNG, 94) \
  X(FPU, 95) \
  X(HASH, 96) \
  X(PKA, 97) \
  X(LPTIM3, 98) \
  X(SPI3, 99) \
  X(I2C4_ER, 100) \
  X(I2C4_EV, 101) \
  X(MDF1_FLT0, 102) \
  X(MDF1_FLT1, 103) \
  X(MDF1_FLT2, 104) \
  X(MDF1_FLT3, 105) \
  X(UCPD1, 106) \
  X(ICACHE, 107) \
  X(OTFDEC1, 108) \
  X(OTFDEC2, 109) \
  X(LPTIM4, 110) \
  X(DCACHE1, 111) \
  X(ADF1, 112) \
  X(ADC4, 113) \
  X(LPDMA1_Channel0, 114) \
  X(LPDMA1_Channel1, 115) \
  X(LPDMA1_Channel2, 116) \
  X(LPDMA1_Channel3, 117) \
  X(DMA2D, 118) \
  X(DCMI_PSSI, 119) \
  X(OCTOSPI2, 120) \
  X(MDF1_FLT4, 121) \
  X(MDF1_FLT5, 122) \
  X(CORDIC, 123) \
  X(FMAC, 124)

#ifdef __cplusplus
}
#endif

/* The core: register qualifiers, CMSIS NVIC calls, intrinsics, SCB. */
#include "core_cm33.h"
/* SystemCoreClock, SystemCoreClockUpdate, SECURE_SystemCoreClockUpdate. */
#include "system_stm32u5xx.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Handlers, by vector name. Define the ones your application uses (in C++
 * these declarations give them C linkage; with -fvisibility=hidden they keep
 * them visible to libmvnet.so). The exception handlers are declared for
 * source compatibility only: the host never calls them.
 */
MVNET_VISIBLE void NMI_Handler(void);
MVNET_VISIBLE void HardFault_Handler(void);
MVNET_VISIBLE void MemManage_Handler(void);
MVNET_VISIBLE void BusFault_Handler(void);
MVNET_VISIBLE void UsageFault_Handler(void);
MVNET_VISIBLE void SecureFault_Handler(void);
MVNET_VISIBLE void SVC_Handler(void);
MVNET_VISIBLE void DebugMon_Handler(void);
MVNET_VISIBLE void PendSV_Handler(void);
MVNET_VISIBLE void SysTick_Handler(void);
MVNET_VISIBLE void WWDG_IRQHandler(void);
MVNET_VISIBLE void PVD_AVD_IRQHandler(void);
MVNET_VISIBLE void RTC_IRQHandler(void);
MVNET_VISIBLE void RTC_S_IRQHandler(void);
MVNET_VISIBLE void TAMP_IRQHandler(void);
MVNET_VISIBLE void RAMCFG_IRQHandler(void);
MVNET_VISIBLE void FLASH_IRQHandler(void);
MVNET_VISIBLE void FLASH_S_IRQHandler(void);
MVNET_VISIBLE void GTZC_IRQHandler(void);
MVNET_VISIBLE void RCC_IRQHandler(void);
MVNET_VISIBLE void RCC_S_IRQHandler(void);
MVNET_VISIBLE void EXTI0_IRQHandler(void);
MVNET_VISIBLE void EXTI1_IRQHandler(void);
MVNET_VISIBLE void EXTI2_IRQHandler(void);
MVNET_VISIBLE void EXTI3_IRQHandler(void);
MVNET_VISIBLE void EXTI4_IRQHandler(void);
MVNET_VISIBLE void EXTI5_IRQHandler(void);
MVNET_VISIBLE void EXTI6_IRQHandler(void);
MVNET_VISIBLE void EXTI7_IRQHandler(void);
MVNET_VISIBLE void EXTI8_IRQHandler(void);
MVNET_VISIBLE void EXTI9_IRQHandler(void);
MVNET_VISIBLE void EXTI10_IRQHandler(void);
MVNET_VISIBLE void EXTI11_IRQHandler(void);
MVNET_VISIBLE void EXTI12_IRQHandler(void);
MVNET_VISIBLE void EXTI13_IRQHandler(void);
MVNET_VISIBLE void EXTI14_IRQHandler(void);
MVNET_VISIBLE void EXTI15_IRQHandler(void);
MVNET_VISIBLE void IWDG_IRQHandler(void);
MVNET_VISIBLE void SAES_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel0_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel1_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel2_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel3_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel4_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel5_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel6_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel7_IRQHandler(void);
MVNET_VISIBLE void ADC1_IRQHandler(void);
MVNET_VISIBLE void DAC1_IRQHandler(void);
MVNET_VISIBLE void FDCAN1_IT0_IRQHandler(void);
MVNET_VISIBLE void FDCAN1_IT1_IRQHandler(void);
MVNET_VISIBLE void TIM1_BRK_IRQHandler(void);
MVNET_VISIBLE void TIM1_UP_IRQHandler(void);
MVNET_VISIBLE void TIM1_TRG_COM_IRQHandler(void);
MVNET_VISIBLE void TIM1_CC_IRQHandler(void);
MVNET_VISIBLE void TIM2_IRQHandler(void);
MVNET_VISIBLE void TIM3_IRQHandler(void);
MVNET_VISIBLE void TIM4_IRQHandler(void);
MVNET_VISIBLE void TIM5_IRQHandler(void);
MVNET_VISIBLE void TIM6_IRQHandler(void);
MVNET_VISIBLE void TIM7_IRQHandler(void);
MVNET_VISIBLE void TIM8_BRK_IRQHandler(void);
MVNET_VISIBLE void TIM8_UP_IRQHandler(void);
MVNET_VISIBLE void TIM8_TRG_COM_IRQHandler(void);
MVNET_VISIBLE void TIM8_CC_IRQHandler(void);
MVNET_VISIBLE void I2C1_EV_IRQHandler(void);
MVNET_VISIBLE void I2C1_ER_IRQHandler(void);
MVNET_VISIBLE void I2C2_EV_IRQHandler(void);
MVNET_VISIBLE void I2C2_ER_IRQHandler(void);
MVNET_VISIBLE void SPI1_IRQHandler(void);
MVNET_VISIBLE void SPI2_IRQHandler(void);
MVNET_VISIBLE void USART1_IRQHandler(void);
MVNET_VISIBLE void USART2_IRQHandler(void);
MVNET_VISIBLE void USART3_IRQHandler(void);
MVNET_VISIBLE void UART4_IRQHandler(void);
MVNET_VISIBLE void UART5_IRQHandler(void);
MVNET_VISIBLE void LPUART1_IRQHandler(void);
MVNET_VISIBLE void LPTIM1_IRQHandler(void);
MVNET_VISIBLE void LPTIM2_IRQHandler(void);
MVNET_VISIBLE void TIM15_IRQHandler(void);
MVNET_VISIBLE void TIM16_IRQHandler(void);
MVNET_VISIBLE void TIM17_IRQHandler(void);
MVNET_VISIBLE void COMP_IRQHandler(void);
MVNET_VISIBLE void OTG_FS_IRQHandler(void);
MVNET_VISIBLE void CRS_IRQHandler(void);
MVNET_VISIBLE void FMC_IRQHandler(void);
MVNET_VISIBLE void OCTOSPI1_IRQHandler(void);
MVNET_VISIBLE void PWR_S3WU_IRQHandler(void);
MVNET_VISIBLE void SDMMC1_IRQHandler(void);
MVNET_VISIBLE void SDMMC2_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel8_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel9_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel10_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel11_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel12_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel13_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel14_IRQHandler(void);
MVNET_VISIBLE void GPDMA1_Channel15_IRQHandler(void);
MVNET_VISIBLE void I2C3_EV_IRQHandler(void);
MVNET_VISIBLE void I2C3_ER_IRQHandler(void);
MVNET_VISIBLE void SAI1_IRQHandler(void);
MVNET_VISIBLE void SAI2_IRQHandler(void);
MVNET_VISIBLE void TSC_IRQHandler(void);
MVNET_VISIBLE void AES_IRQHandler(void);
MVNET_VISIBLE void RNG_IRQHandler(void);
MVNET_VISIBLE void FPU_IRQHandler(void);
MVNET_VISIBLE void HASH_IRQHandler(void);
MVNET_VISIBLE void PKA_IRQHandler(void);
MVNET_VISIBLE void LPTIM3_IRQHandler(void);
MVNET_VISIBLE void SPI3_IRQHandler(void);
MVNET_VISIBLE void I2C4_ER_IRQHandler(void);
MVNET_VISIBLE void I2C4_EV_IRQHandler(void);
MVNET_VISIBLE void MDF1_FLT0_IRQHandler(void);
MVNET_VISIBLE void MDF1_FLT1_IRQHandler(void);
MVNET_VISIBLE void MDF1_FLT2_IRQHandler(void);
MVNET_VISIBLE void MDF1_FLT3_IRQHandler(void);
MVNET_VISIBLE void UCPD1_IRQHandler(void);
MVNET_VISIBLE void ICACHE_IRQHandler(void);
MVNET_VISIBLE void OTFDEC1_IRQHandler(void);
MVNET_VISIBLE void OTFDEC2_IRQHandler(void);
MVNET_VISIBLE void LPTIM4_IRQHandler(void);
MVNET_VISIBLE void DCACHE1_IRQHandler(void);
MVNET_VISIBLE void ADF1_IRQHandler(void);
MVNET_VISIBLE void ADC4_IRQHandler(void);
MVNET_VISIBLE void LPDMA1_Channel0_IRQHandler(void);
MVNET_VISIBLE void LPDMA1_Channel1_IRQHandler(void);
MVNET_VISIBLE void LPDMA1_Channel2_IRQHandler(void);
MVNET_VISIBLE void LPDMA1_Channel3_IRQHandler(void);
MVNET_VISIBLE void DMA2D_IRQHandler(void);
MVNET_VISIBLE void DCMI_PSSI_IRQHandler(void);
MVNET_VISIBLE void OCTOSPI2_IRQHandler(void);
MVNET_VISIBLE void MDF1_FLT4_IRQHandler(void);
MVNET_VISIBLE void MDF1_FLT5_IRQHandler(void);
MVNET_VISIBLE void CORDIC_IRQHandler(void);
MVNET_VISIBLE void FMAC_IRQHandler(void);

#ifdef __cplusplus
}
#endif

#endif /* STM32U585xx_H */
