/*
 * stm32u5xx_hal_cortex.h — mvnet host stand-in: the HAL's NVIC helpers.
 *
 * HAL_NVIC_* forward to the CMSIS NVIC_* calls that mvnet's library provides
 * (declared in stm32u585xx.h), as ST's HAL does, so an application may use
 * either spelling. Priorities only order pending interrupts on the host: its
 * interrupt thread runs one handler at a time and never preempts one.
 */
#ifndef MVNET_STM32U5XX_HAL_CORTEX_H
#define MVNET_STM32U5XX_HAL_CORTEX_H

#include "stm32u5xx_hal_def.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NVIC_PRIORITYGROUP_0 0x00000007U
#define NVIC_PRIORITYGROUP_1 0x00000006U
#define NVIC_PRIORITYGROUP_2 0x00000005U
#define NVIC_PRIORITYGROUP_3 0x00000004U
#define NVIC_PRIORITYGROUP_4 0x00000003U

static inline void HAL_NVIC_SetPriorityGrouping(uint32_t PriorityGroup) {
  NVIC_SetPriorityGrouping(PriorityGroup);
}

static inline void HAL_NVIC_SetPriority(IRQn_Type IRQn, uint32_t PreemptPriority, uint32_t SubPriority) {
  NVIC_SetPriority(IRQn, NVIC_EncodePriority(NVIC_GetPriorityGrouping(), PreemptPriority, SubPriority));
}

static inline void HAL_NVIC_EnableIRQ(IRQn_Type IRQn) {
  NVIC_EnableIRQ(IRQn);
}

static inline void HAL_NVIC_DisableIRQ(IRQn_Type IRQn) {
  NVIC_DisableIRQ(IRQn);
}

static inline void HAL_NVIC_SetPendingIRQ(IRQn_Type IRQn) {
  NVIC_SetPendingIRQ(IRQn);
}

static inline void HAL_NVIC_ClearPendingIRQ(IRQn_Type IRQn) {
  NVIC_ClearPendingIRQ(IRQn);
}

static inline uint32_t HAL_NVIC_GetPendingIRQ(IRQn_Type IRQn) {
  return (uint32_t)NVIC_GetPendingIRQ(IRQn);
}

#ifdef __cplusplus
}
#endif

#endif /* MVNET_STM32U5XX_HAL_CORTEX_H */
