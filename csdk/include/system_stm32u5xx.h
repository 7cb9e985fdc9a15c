/*
 * system_stm32u5xx.h: the host C SDK's stand-in for ST's system header.
 *
 * The core clock variable and the functions of the system file
 * (system_stm32u5xx_ns.c in Microvisor projects). libmvnet defines them all
 * weakly, so an application that keeps its system file links with either
 * library and its definitions win:
 *
 *   SystemCoreClock        the core clock in hertz; libmvnet's starts at
 *                          160 MHz. The HAL (HAL_RCC_GetHCLKFreq) reads the
 *                          application's variable when it defines one.
 *   SystemCoreClockUpdate  libmvnet's sets SystemCoreClock from the
 *                          application's SECURE_SystemCoreClockUpdate() when
 *                          it defines one (Microvisor applications do,
 *                          calling mvGetHClk()), else to 160 MHz — what ST's
 *                          non-secure system file does.
 *   SystemInit             nothing calls it on the host (there is no startup
 *                          code); libmvnet's does nothing.
 *   AHBPrescTable, APBPrescTable, MSIRangeTable
 *                          ST's tables, for code that reads them.
 */
#ifndef MVNET_SYSTEM_STM32U5XX_H
#define MVNET_SYSTEM_STM32U5XX_H

#include <stdint.h>

#include "cmsis_gcc.h"

#ifdef __cplusplus
extern "C" {
#endif

extern MVNET_VISIBLE uint32_t SystemCoreClock;

extern const uint8_t  AHBPrescTable[16];
extern const uint8_t  APBPrescTable[8];
extern const uint32_t MSIRangeTable[16];

void SystemInit(void);
MVNET_VISIBLE void SystemCoreClockUpdate(void);
/* Defined by the application (Microvisor's samples return mvGetHClk()). */
MVNET_VISIBLE uint32_t SECURE_SystemCoreClockUpdate(void);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_SYSTEM_STM32U5XX_H */
