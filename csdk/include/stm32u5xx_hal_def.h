/*
 * stm32u5xx_hal_def.h — mvnet host stand-in: the common HAL definitions.
 *
 * Part of mvnet's host subset of the STM32U5 HAL (see stm32u5xx_hal.h). The
 * names and values follow ST's STM32U5 HAL so that application code compiles
 * unchanged; the implementation behind them is mvnet's own (csdk/hal/).
 */
#ifndef MVNET_STM32U5XX_HAL_DEF_H
#define MVNET_STM32U5XX_HAL_DEF_H

#include <stddef.h>
#include <stdint.h>

/* The device header: IRQn_Type and the CMSIS NVIC_* calls (csdk/include). */
#include "stm32u585xx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Register qualifiers (CMSIS core names) ----------------------------- */
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

/* ---- Family-wide enumerations (ST's stm32u5xx.h) ------------------------- */
#ifndef MVNET_STM32U5XX_COMMON_TYPES
#define MVNET_STM32U5XX_COMMON_TYPES
typedef enum { RESET = 0, SET = !RESET } FlagStatus, ITStatus;
typedef enum { DISABLE = 0, ENABLE = !DISABLE } FunctionalState;
typedef enum { SUCCESS = 0, ERROR = !SUCCESS } ErrorStatus;
#endif
#ifndef IS_FUNCTIONAL_STATE
#define IS_FUNCTIONAL_STATE(STATE) (((STATE) == DISABLE) || ((STATE) == ENABLE))
#endif

/* Register bit helpers (ST's stm32u5xx.h). On the host they act on the
 * plain memory behind the peripheral stand-ins, never on hardware. */
#ifndef SET_BIT
#define SET_BIT(REG, BIT) ((REG) |= (BIT))
#endif
#ifndef CLEAR_BIT
#define CLEAR_BIT(REG, BIT) ((REG) &= ~(BIT))
#endif
#ifndef READ_BIT
#define READ_BIT(REG, BIT) ((REG) & (BIT))
#endif
#ifndef CLEAR_REG
#define CLEAR_REG(REG) ((REG) = (0x0))
#endif
#ifndef WRITE_REG
#define WRITE_REG(REG, VAL) ((REG) = (VAL))
#endif
#ifndef READ_REG
#define READ_REG(REG) ((REG))
#endif
#ifndef MODIFY_REG
#define MODIFY_REG(REG, CLEARMASK, SETMASK) \
  WRITE_REG((REG), (((READ_REG(REG)) & (~(CLEARMASK))) | (SETMASK)))
#endif
#ifndef POSITION_VAL
#define POSITION_VAL(VAL) (__builtin_ctz(VAL))
#endif

/* ---- HAL status and lock ------------------------------------------------- */
typedef enum {
  HAL_OK = 0x00U,
  HAL_ERROR = 0x01U,
  HAL_BUSY = 0x02U,
  HAL_TIMEOUT = 0x03U
} HAL_StatusTypeDef;

typedef enum {
  HAL_UNLOCKED = 0x00U,
  HAL_LOCKED = 0x01U
} HAL_LockTypeDef;

/* Largest timeout: wait forever. */
#define HAL_MAX_DELAY 0xFFFFFFFFU

#define HAL_IS_BIT_SET(REG, BIT) (((REG) & (BIT)) == (BIT))
#define HAL_IS_BIT_CLR(REG, BIT) (((REG) & (BIT)) == 0U)

#ifndef UNUSED
#define UNUSED(X) (void)(X)
#endif

/* The HAL's parameter checks compile away unless USE_FULL_ASSERT is set, as
 * in ST's template configuration; with it, assert_failed() (application
 * code) is called. */
#ifndef assert_param
#ifdef USE_FULL_ASSERT
void assert_failed(uint8_t *file, uint32_t line);
#define assert_param(expr) ((expr) ? (void)0U : assert_failed((uint8_t *)__FILE__, __LINE__))
#else
#define assert_param(expr) ((void)0U)
#endif
#endif

#ifndef __weak
#define __weak __attribute__((weak))
#endif
#ifndef __packed
#define __packed __attribute__((__packed__))
#endif
#ifndef __ALIGN_BEGIN
#define __ALIGN_BEGIN
#endif
#ifndef __ALIGN_END
#define __ALIGN_END __attribute__((aligned(4)))
#endif

/* Mirrors ST's handle lock macros: they return HAL_BUSY from the calling
 * function when the handle is already locked. Not atomic, as in ST's HAL. */
#define __HAL_LOCK(__HANDLE__)                \
  do {                                        \
    if ((__HANDLE__)->Lock == HAL_LOCKED) {   \
      return HAL_BUSY;                        \
    }                                         \
    (__HANDLE__)->Lock = HAL_LOCKED;          \
  } while (0U)
#define __HAL_UNLOCK(__HANDLE__)              \
  do {                                        \
    (__HANDLE__)->Lock = HAL_UNLOCKED;        \
  } while (0U)

/* Links a peripheral handle and a DMA handle both ways (ST's shape: a
 * statement). DMA is not emulated; the macro works on any pair of handles
 * with those fields. */
#define __HAL_LINKDMA(__HANDLE__, __PPP_DMA_FIELD__, __DMA_HANDLE__) \
  do {                                                              \
    (__HANDLE__)->__PPP_DMA_FIELD__ = &(__DMA_HANDLE__);            \
    (__DMA_HANDLE__).Parent = (__HANDLE__);                         \
  } while (0U)

/* Puts a handle back in its reset state, so that the next Init calls its
 * MspInit again (ST's shape: an expression). */
#define __HAL_RESET_HANDLE_STATE(__HANDLE__) ((__HANDLE__)->State = 0U)

#ifdef __cplusplus
}
#endif

#endif /* MVNET_STM32U5XX_HAL_DEF_H */
