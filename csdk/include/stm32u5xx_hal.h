/*
 * stm32u5xx_hal.h — mvnet host stand-in for ST's STM32U5 HAL (a subset).
 *
 * Microvisor applications include this header for the tick, the clock
 * variable, GPIO and a logging UART. mvnet provides the same names, types and
 * values so that such code builds with the host's compiler, with an
 * implementation of its own (the C files in csdk/hal, linked into libmvnet):
 *
 *   HAL_Init, HAL_DeInit, HAL_InitTick, HAL_IncTick, HAL_GetTick, HAL_Delay,
 *   HAL_GetTickPrio, HAL_SetTickFreq, HAL_GetTickFreq, HAL_SuspendTick,
 *   HAL_ResumeTick, HAL_GetHalVersion, SystemCoreClock,
 *   SystemCoreClockUpdate; the application hooks HAL_MspInit/HAL_MspDeInit;
 *   RCC: stm32u5xx_hal_rcc.h   GPIO: stm32u5xx_hal_gpio.h
 *   UART: stm32u5xx_hal_uart.h TIM: stm32u5xx_hal_tim.h
 *   NVIC helpers: stm32u5xx_hal_cortex.h
 *   mv_syscalls.h comes with them (through the RCC header, as on Microvisor).
 *
 * The tick is milliseconds since the process started, from the host's
 * monotonic clock (the same count osKernelGetTickCount() returns), until
 * something calls HAL_IncTick(): from then on it is counted as on the
 * device, uwTick advancing by uwTickFreq per call (continued from the clock
 * value, so it never goes back), and HAL_GetTick/HAL_Delay follow uwTick.
 * That is what an application's time base does, e.g. ST's
 * stm32u5xx_hal_timebase_tim.c, whose TIM6 period interrupt calls
 * HAL_IncTick (stm32u5xx_hal_tim.h). HAL_GetTick, HAL_Delay, HAL_InitTick,
 * HAL_IncTick, HAL_SuspendTick and HAL_ResumeTick are weak, as in ST's HAL,
 * so such a file replaces them; HAL_Init calls the application's
 * HAL_InitTick whether libmvnet is linked statically or as libmvnet.so.
 * Nothing calls SysTick_Handler on the host.
 *
 * Application hooks (HAL_MspInit, HAL_UART_MspInit, HAL_GPIO_EXTI_*_Callback)
 * are called when the application defines them and skipped otherwise; the
 * library defines no fallback for them, so an application should not call
 * one it does not define.
 *
 * Not in this subset (link errors name what is missing): TIM beyond the
 * time base, ADC,
 * DMA, RTC, flash, low-power modes, RCC oscillator/clock-tree configuration
 * and the LL drivers. The application's stm32u5xx_hal_conf.h is not read:
 * TICK_INT_PRIORITY and the oscillator values take ST's defaults unless the
 * build defines them.
 */
#ifndef MVNET_STM32U5XX_HAL_H
#define MVNET_STM32U5XX_HAL_H

#include "stm32u5xx_hal_def.h"
#include "stm32u5xx_hal_rcc.h"
#include "stm32u5xx_hal_gpio.h"
#include "stm32u5xx_hal_uart.h"
#include "stm32u5xx_hal_tim.h"
#include "stm32u5xx_hal_i2c.h"
#include "stm32u5xx_hal_spi.h"
#include "stm32u5xx_hal_cortex.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this stand-in, in ST's 0xXXYYZZRC layout (1.0.0). */
#define MVNET_STM32U5XX_HAL_VERSION 0x01000000U

/* ST's stm32u5xx_hal_conf.h defaults. */
#ifndef TICK_INT_PRIORITY
#define TICK_INT_PRIORITY 15U
#endif
#ifndef HSE_VALUE
#define HSE_VALUE 16000000U
#endif
#ifndef HSI_VALUE
#define HSI_VALUE 16000000U
#endif
#ifndef MSI_VALUE
#define MSI_VALUE 4000000U
#endif
#ifndef LSE_VALUE
#define LSE_VALUE 32768U
#endif
#ifndef LSI_VALUE
#define LSI_VALUE 32000U
#endif

typedef enum {
  HAL_TICK_FREQ_10HZ = 100U,
  HAL_TICK_FREQ_100HZ = 10U,
  HAL_TICK_FREQ_1KHZ = 1U,
  HAL_TICK_FREQ_DEFAULT = HAL_TICK_FREQ_1KHZ
} HAL_TickFreqTypeDef;

/* SystemCoreClock (starts at MVNET_HAL_CLOCK_HZ) and SystemCoreClockUpdate()
 * are declared in system_stm32u5xx.h, which the device header includes. */

/* Tick bookkeeping kept for code that reads it. uwTick holds the last value
 * HAL_GetTick() returned. */
extern __IO uint32_t uwTick;
extern uint32_t uwTickPrio;
extern HAL_TickFreqTypeDef uwTickFreq;

HAL_StatusTypeDef HAL_Init(void);   /* HAL_InitTick(TICK_INT_PRIORITY), then HAL_MspInit() */
HAL_StatusTypeDef HAL_DeInit(void); /* HAL_MspDeInit() */
MVNET_VISIBLE void HAL_MspInit(void);   /* application hook (optional) */
MVNET_VISIBLE void HAL_MspDeInit(void); /* application hook (optional) */

HAL_StatusTypeDef HAL_InitTick(uint32_t TickPriority); /* weak; records the priority */
void HAL_IncTick(void);                               /* weak; switches to the counted tick (see above) */
uint32_t HAL_GetTick(void);                           /* weak; ms (clock or uwTick), wraps at 2^32 */
void HAL_Delay(uint32_t Delay);                       /* weak; at least Delay ms / Delay+1 counted ticks */
uint32_t HAL_GetTickPrio(void);
/* The frequency is stored and reported back; HAL_GetTick() counts
 * milliseconds either way (as on ST's HAL, whose coarser ticks still count
 * in ms), just with finer steps than a 10 or 100 Hz tick would have. */
HAL_StatusTypeDef HAL_SetTickFreq(HAL_TickFreqTypeDef Freq);
HAL_TickFreqTypeDef HAL_GetTickFreq(void);
void HAL_SuspendTick(void);                                 /* weak; no effect */
void HAL_ResumeTick(void);                                  /* weak; no effect */
uint32_t HAL_GetHalVersion(void);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_STM32U5XX_HAL_H */
