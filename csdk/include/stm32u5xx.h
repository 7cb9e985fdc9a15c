/*
 * stm32u5xx.h: the host C SDK's stand-in for ST's STM32U5 family header.
 *
 * ST's family header selects the device header and adds the family-wide
 * definitions; CubeMX and Microvisor projects include it (their system file
 * system_stm32u5xx_ns.c does). Here it includes the STM32U585's device
 * header (stm32u585xx.h: IRQs, handlers, NVIC, intrinsics, SCB,
 * SystemCoreClock) and the family definitions the HAL stand-in keeps in
 * stm32u5xx_hal_def.h (FlagStatus, FunctionalState, ErrorStatus, SET_BIT,
 * MODIFY_REG …), and, as ST's does, the HAL when USE_HAL_DRIVER is defined.
 */
#ifndef MVNET_STM32U5XX_H
#define MVNET_STM32U5XX_H

#if !defined(STM32U585xx)
#define STM32U585xx
#endif

#include "stm32u585xx.h"
#include "stm32u5xx_hal_def.h"

#if defined(USE_HAL_DRIVER)
#include "stm32u5xx_hal.h"
#endif

#endif /* MVNET_STM32U5XX_H */
