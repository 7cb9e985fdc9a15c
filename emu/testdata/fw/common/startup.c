/*
 * startup.c: reset and vector table of mvnet's test firmware (STM32U585,
 * Cortex-M33, non-secure). Written for this project.
 *
 * The vector table goes first in flash (.isr_vector, fw.ld): word 0 is the
 * initial main stack pointer (_estack, the top of SRAM), word 1 the reset
 * handler, then the other 14 system exception vectors and the 125
 * STM32U585 interrupt vectors (IRQ n at word 16 + n). Every handler but
 * Reset_Handler is a weak alias of Default_Handler, so a program defines
 * only the handlers it uses, under the usual CMSIS names.
 *
 * Reset_Handler copies .data from its load image in flash, zeroes .bss,
 * runs the constructors (.preinit_array, .init_array), calls main and hands main's result
 * to fw_exit (fw.c), which reports it with mvTestingComplete.
 */
#include <stdint.h>

#include "fw.h"

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
extern int main(void);
extern void (*__preinit_array_start[])(void), (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void), (*__init_array_end[])(void);

void Reset_Handler(void);

/* Default_Handler: an exception nobody expected. It stops here, where a
 * debugger (or the emulator's crash report) finds it by name. */
void Default_Handler(void) {
    for (;;) {
    }
}

#define WEAK_DEFAULT __attribute__((weak, alias("Default_Handler")))
void NMI_Handler(void) WEAK_DEFAULT;
void HardFault_Handler(void) WEAK_DEFAULT;
void MemManage_Handler(void) WEAK_DEFAULT;
void BusFault_Handler(void) WEAK_DEFAULT;
void UsageFault_Handler(void) WEAK_DEFAULT;
void SecureFault_Handler(void) WEAK_DEFAULT;
void SVC_Handler(void) WEAK_DEFAULT;
void DebugMon_Handler(void) WEAK_DEFAULT;
void PendSV_Handler(void) WEAK_DEFAULT;
void SysTick_Handler(void) WEAK_DEFAULT;
void WWDG_IRQHandler(void) WEAK_DEFAULT;
void PVD_AVD_IRQHandler(void) WEAK_DEFAULT;
void RTC_IRQHandler(void) WEAK_DEFAULT;
void RTC_S_IRQHandler(void) WEAK_DEFAULT;
void TAMP_IRQHandler(void) WEAK_DEFAULT;
void RAMCFG_IRQHandler(void) WEAK_DEFAULT;
void FLASH_IRQHandler(void) WEAK_DEFAULT;
void FLASH_S_IRQHandler(void) WEAK_DEFAULT;
void GTZC_IRQHandler(void) WEAK_DEFAULT;
void RCC_IRQHandler(void) WEAK_DEFAULT;
void RCC_S_IRQHandler(void) WEAK_DEFAULT;
void EXTI0_IRQHandler(void) WEAK_DEFAULT;
void EXTI1_IRQHandler(void) WEAK_DEFAULT;
void EXTI2_IRQHandler(void) WEAK_DEFAULT;
void EXTI3_IRQHandler(void) WEAK_DEFAULT;
void EXTI4_IRQHandler(void) WEAK_DEFAULT;
void EXTI5_IRQHandler(void) WEAK_DEFAULT;
void EXTI6_IRQHandler(void) WEAK_DEFAULT;
void EXTI7_IRQHandler(void) WEAK_DEFAULT;
void EXTI8_IRQHandler(void) WEAK_DEFAULT;
void EXTI9_IRQHandler(void) WEAK_DEFAULT;
void EXTI10_IRQHandler(void) WEAK_DEFAULT;
void EXTI11_IRQHandler(void) WEAK_DEFAULT;
void EXTI12_IRQHandler(void) WEAK_DEFAULT;
void EXTI13_IRQHandler(void) WEAK_DEFAULT;
void EXTI14_IRQHandler(void) WEAK_DEFAULT;
void EXTI15_IRQHandler(void) WEAK_DEFAULT;
void IWDG_IRQHandler(void) WEAK_DEFAULT;
void SAES_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel0_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel1_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel2_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel3_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel4_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel5_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel6_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel7_IRQHandler(void) WEAK_DEFAULT;
void ADC1_IRQHandler(void) WEAK_DEFAULT;
void DAC1_IRQHandler(void) WEAK_DEFAULT;
void FDCAN1_IT0_IRQHandler(void) WEAK_DEFAULT;
void FDCAN1_IT1_IRQHandler(void) WEAK_DEFAULT;
void TIM1_BRK_IRQHandler(void) WEAK_DEFAULT;
void TIM1_UP_IRQHandler(void) WEAK_DEFAULT;
void TIM1_TRG_COM_IRQHandler(void) WEAK_DEFAULT;
void TIM1_CC_IRQHandler(void) WEAK_DEFAULT;
void TIM2_IRQHandler(void) WEAK_DEFAULT;
void TIM3_IRQHandler(void) WEAK_DEFAULT;
void TIM4_IRQHandler(void) WEAK_DEFAULT;
void TIM5_IRQHandler(void) WEAK_DEFAULT;
void TIM6_IRQHandler(void) WEAK_DEFAULT;
void TIM7_IRQHandler(void) WEAK_DEFAULT;
void TIM8_BRK_IRQHandler(void) WEAK_DEFAULT;
void TIM8_UP_IRQHandler(void) WEAK_DEFAULT;
void TIM8_TRG_COM_IRQHandler(void) WEAK_DEFAULT;
void TIM8_CC_IRQHandler(void) WEAK_DEFAULT;
void I2C1_EV_IRQHandler(void) WEAK_DEFAULT;
void I2C1_ER_IRQHandler(void) WEAK_DEFAULT;
void I2C2_EV_IRQHandler(void) WEAK_DEFAULT;
void I2C2_ER_IRQHandler(void) WEAK_DEFAULT;
void SPI1_IRQHandler(void) WEAK_DEFAULT;
void SPI2_IRQHandler(void) WEAK_DEFAULT;
void USART1_IRQHandler(void) WEAK_DEFAULT;
void USART2_IRQHandler(void) WEAK_DEFAULT;
void USART3_IRQHandler(void) WEAK_DEFAULT;
void UART4_IRQHandler(void) WEAK_DEFAULT;
void UART5_IRQHandler(void) WEAK_DEFAULT;
void LPUART1_IRQHandler(void) WEAK_DEFAULT;
void LPTIM1_IRQHandler(void) WEAK_DEFAULT;
void LPTIM2_IRQHandler(void) WEAK_DEFAULT;
void TIM15_IRQHandler(void) WEAK_DEFAULT;
void TIM16_IRQHandler(void) WEAK_DEFAULT;
void TIM17_IRQHandler(void) WEAK_DEFAULT;
void COMP_IRQHandler(void) WEAK_DEFAULT;
void OTG_FS_IRQHandler(void) WEAK_DEFAULT;
void CRS_IRQHandler(void) WEAK_DEFAULT;
void FMC_IRQHandler(void) WEAK_DEFAULT;
void OCTOSPI1_IRQHandler(void) WEAK_DEFAULT;
void PWR_S3WU_IRQHandler(void) WEAK_DEFAULT;
void SDMMC1_IRQHandler(void) WEAK_DEFAULT;
void SDMMC2_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel8_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel9_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel10_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel11_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel12_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel13_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel14_IRQHandler(void) WEAK_DEFAULT;
void GPDMA1_Channel15_IRQHandler(void) WEAK_DEFAULT;
void I2C3_EV_IRQHandler(void) WEAK_DEFAULT;
void I2C3_ER_IRQHandler(void) WEAK_DEFAULT;
void SAI1_IRQHandler(void) WEAK_DEFAULT;
void SAI2_IRQHandler(void) WEAK_DEFAULT;
void TSC_IRQHandler(void) WEAK_DEFAULT;
void AES_IRQHandler(void) WEAK_DEFAULT;
void RNG_IRQHandler(void) WEAK_DEFAULT;
void FPU_IRQHandler(void) WEAK_DEFAULT;
void HASH_IRQHandler(void) WEAK_DEFAULT;
void PKA_IRQHandler(void) WEAK_DEFAULT;
void LPTIM3_IRQHandler(void) WEAK_DEFAULT;
void SPI3_IRQHandler(void) WEAK_DEFAULT;
void I2C4_ER_IRQHandler(void) WEAK_DEFAULT;
void I2C4_EV_IRQHandler(void) WEAK_DEFAULT;
void MDF1_FLT0_IRQHandler(void) WEAK_DEFAULT;
void MDF1_FLT1_IRQHandler(void) WEAK_DEFAULT;
void MDF1_FLT2_IRQHandler(void) WEAK_DEFAULT;
void MDF1_FLT3_IRQHandler(void) WEAK_DEFAULT;
void UCPD1_IRQHandler(void) WEAK_DEFAULT;
void ICACHE_IRQHandler(void) WEAK_DEFAULT;
void OTFDEC1_IRQHandler(void) WEAK_DEFAULT;
void OTFDEC2_IRQHandler(void) WEAK_DEFAULT;
void LPTIM4_IRQHandler(void) WEAK_DEFAULT;
void DCACHE1_IRQHandler(void) WEAK_DEFAULT;
void ADF1_IRQHandler(void) WEAK_DEFAULT;
void ADC4_IRQHandler(void) WEAK_DEFAULT;
void LPDMA1_Channel0_IRQHandler(void) WEAK_DEFAULT;
void LPDMA1_Channel1_IRQHandler(void) WEAK_DEFAULT;
void LPDMA1_Channel2_IRQHandler(void) WEAK_DEFAULT;
void LPDMA1_Channel3_IRQHandler(void) WEAK_DEFAULT;
void DMA2D_IRQHandler(void) WEAK_DEFAULT;
void DCMI_PSSI_IRQHandler(void) WEAK_DEFAULT;
void OCTOSPI2_IRQHandler(void) WEAK_DEFAULT;
void MDF1_FLT4_IRQHandler(void) WEAK_DEFAULT;
void MDF1_FLT5_IRQHandler(void) WEAK_DEFAULT;
void CORDIC_IRQHandler(void) WEAK_DEFAULT;
void FMAC_IRQHandler(void) WEAK_DEFAULT;

typedef void (*vector_t)(void);

/* 16 system vectors + 125 device interrupts (spec/firmware.md). */
__attribute__((section(".isr_vector"), used)) const vector_t fw_vectors[16 + FW_IRQ_COUNT] = {
    (vector_t)&_estack,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    SecureFault_Handler,
    0,
    0,
    0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
    WWDG_IRQHandler, /* 0 */
    PVD_AVD_IRQHandler, /* 1 */
    RTC_IRQHandler, /* 2 */
    RTC_S_IRQHandler, /* 3 */
    TAMP_IRQHandler, /* 4 */
    RAMCFG_IRQHandler, /* 5 */
    FLASH_IRQHandler, /* 6 */
    FLASH_S_IRQHandler, /* 7 */
    GTZC_IRQHandler, /* 8 */
    RCC_IRQHandler, /* 9 */
    RCC_S_IRQHandler, /* 10 */
    EXTI0_IRQHandler, /* 11 */
    EXTI1_IRQHandler, /* 12 */
    EXTI2_IRQHandler, /* 13 */
    EXTI3_IRQHandler, /* 14 */
    EXTI4_IRQHandler, /* 15 */
    EXTI5_IRQHandler, /* 16 */
    EXTI6_IRQHandler, /* 17 */
    EXTI7_IRQHandler, /* 18 */
    EXTI8_IRQHandler, /* 19 */
    EXTI9_IRQHandler, /* 20 */
    EXTI10_IRQHandler, /* 21 */
    EXTI11_IRQHandler, /* 22 */
    EXTI12_IRQHandler, /* 23 */
    EXTI13_IRQHandler, /* 24 */
    EXTI14_IRQHandler, /* 25 */
    EXTI15_IRQHandler, /* 26 */
    IWDG_IRQHandler, /* 27 */
    SAES_IRQHandler, /* 28 */
    GPDMA1_Channel0_IRQHandler, /* 29 */
    GPDMA1_Channel1_IRQHandler, /* 30 */
    GPDMA1_Channel2_IRQHandler, /* 31 */
    GPDMA1_Channel3_IRQHandler, /* 32 */
    GPDMA1_Channel4_IRQHandler, /* 33 */
    GPDMA1_Channel5_IRQHandler, /* 34 */
    GPDMA1_Channel6_IRQHandler, /* 35 */
    GPDMA1_Channel7_IRQHandler, /* 36 */
    ADC1_IRQHandler, /* 37 */
    DAC1_IRQHandler, /* 38 */
    FDCAN1_IT0_IRQHandler, /* 39 */
    FDCAN1_IT1_IRQHandler, /* 40 */
    TIM1_BRK_IRQHandler, /* 41 */
    TIM1_UP_IRQHandler, /* 42 */
    TIM1_TRG_COM_IRQHandler, /* 43 */
    TIM1_CC_IRQHandler, /* 44 */
    TIM2_IRQHandler, /* 45 */
    TIM3_IRQHandler, /* 46 */
    TIM4_IRQHandler, /* 47 */
    TIM5_IRQHandler, /* 48 */
    TIM6_IRQHandler, /* 49 */
    TIM7_IRQHandler, /* 50 */
    TIM8_BRK_IRQHandler, /* 51 */
    TIM8_UP_IRQHandler, /* 52 */
    TIM8_TRG_COM_IRQHandler, /* 53 */
    TIM8_CC_IRQHandler, /* 54 */
    I2C1_EV_IRQHandler, /* 55 */
    I2C1_ER_IRQHandler, /* 56 */
    I2C2_EV_IRQHandler, /* 57 */
    I2C2_ER_IRQHandler, /* 58 */
    SPI1_IRQHandler, /* 59 */
    SPI2_IRQHandler, /* 60 */
    USART1_IRQHandler, /* 61 */
    USART2_IRQHandler, /* 62 */
    USART3_IRQHandler, /* 63 */
    UART4_IRQHandler, /* 64 */
    UART5_IRQHandler, /* 65 */
    LPUART1_IRQHandler, /* 66 */
    LPTIM1_IRQHandler, /* 67 */
    LPTIM2_IRQHandler, /* 68 */
    TIM15_IRQHandler, /* 69 */
    TIM16_IRQHandler, /* 70 */
    TIM17_IRQHandler, /* 71 */
    COMP_IRQHandler, /* 72 */
    OTG_FS_IRQHandler, /* 73 */
    CRS_IRQHandler, /* 74 */
    FMC_IRQHandler, /* 75 */
    OCTOSPI1_IRQHandler, /* 76 */
    PWR_S3WU_IRQHandler, /* 77 */
    SDMMC1_IRQHandler, /* 78 */
    SDMMC2_IRQHandler, /* 79 */
    GPDMA1_Channel8_IRQHandler, /* 80 */
    GPDMA1_Channel9_IRQHandler, /* 81 */
    GPDMA1_Channel10_IRQHandler, /* 82 */
    GPDMA1_Channel11_IRQHandler, /* 83 */
    GPDMA1_Channel12_IRQHandler, /* 84 */
    GPDMA1_Channel13_IRQHandler, /* 85 */
    GPDMA1_Channel14_IRQHandler, /* 86 */
    GPDMA1_Channel15_IRQHandler, /* 87 */
    I2C3_EV_IRQHandler, /* 88 */
    I2C3_ER_IRQHandler, /* 89 */
    SAI1_IRQHandler, /* 90 */
    SAI2_IRQHandler, /* 91 */
    TSC_IRQHandler, /* 92 */
    AES_IRQHandler, /* 93 */
    RNG_IRQHandler, /* 94 */
    FPU_IRQHandler, /* 95 */
    HASH_IRQHandler, /* 96 */
    PKA_IRQHandler, /* 97 */
    LPTIM3_IRQHandler, /* 98 */
    SPI3_IRQHandler, /* 99 */
    I2C4_ER_IRQHandler, /* 100 */
    I2C4_EV_IRQHandler, /* 101 */
    MDF1_FLT0_IRQHandler, /* 102 */
    MDF1_FLT1_IRQHandler, /* 103 */
    MDF1_FLT2_IRQHandler, /* 104 */
    MDF1_FLT3_IRQHandler, /* 105 */
    UCPD1_IRQHandler, /* 106 */
    ICACHE_IRQHandler, /* 107 */
    OTFDEC1_IRQHandler, /* 108 */
    OTFDEC2_IRQHandler, /* 109 */
    LPTIM4_IRQHandler, /* 110 */
    DCACHE1_IRQHandler, /* 111 */
    ADF1_IRQHandler, /* 112 */
    ADC4_IRQHandler, /* 113 */
    LPDMA1_Channel0_IRQHandler, /* 114 */
    LPDMA1_Channel1_IRQHandler, /* 115 */
    LPDMA1_Channel2_IRQHandler, /* 116 */
    LPDMA1_Channel3_IRQHandler, /* 117 */
    DMA2D_IRQHandler, /* 118 */
    DCMI_PSSI_IRQHandler, /* 119 */
    OCTOSPI2_IRQHandler, /* 120 */
    MDF1_FLT4_IRQHandler, /* 121 */
    MDF1_FLT5_IRQHandler, /* 122 */
    CORDIC_IRQHandler, /* 123 */
    FMAC_IRQHandler, /* 124 */
};

void Reset_Handler(void) {
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    for (void (**f)(void) = __preinit_array_start; f < __preinit_array_end; f++) {
        (*f)();
    }
    for (void (**f)(void) = __init_array_start; f < __init_array_end; f++) {
        (*f)();
    }
    fw_exit(main());
}
