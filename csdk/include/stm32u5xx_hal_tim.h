/*
 * stm32u5xx_hal_tim.h — mvnet host stand-in: timers (the time base part).
 *
 * What Microvisor projects use a timer for is a period interrupt: ST's
 * stm32u5xx_hal_timebase_tim_template.c runs HAL_GetTick from TIM6 (or
 * another basic timer) at 1 kHz, and applications tick their own code the
 * same way. On the host each TIMx is a register block in host memory with
 * the STM32U5 layout, and a started timer is a host clock that, every
 * (PSC+1)*(ARR+1) timer clock cycles, sets the update flag (SR.UIF) and,
 * when the update interrupt is enabled (DIER.UIE), pends the timer's IRQ in
 * the library's interrupt controller, so the application's TIMx_IRQHandler
 * runs on the interrupt thread and HAL_TIM_IRQHandler calls
 * HAL_TIM_PeriodElapsedCallback, as on the device. The timer clock is the
 * bus clock (PCLK1 for TIM2–TIM7, PCLK2 for TIM1/8/15/16/17; every APB
 * prescaler is 1 on the host, so there is no x2). Periods shorter than
 * MVNET_TIM_MIN_PERIOD_NS are stretched to it. Start and stop are recorded
 * in the trace (kind "tim"); the periods are not.
 *
 * PWM channels are accepted and traced (their compare value and the duty
 * cycle it gives), not produced.
 *
 * Not emulated: the counter (CNT stays as written), input capture, output
 * waveforms, one-pulse, encoder and slave modes, DMA, repetition counter,
 * break. Callbacks other than the period elapsed and trigger ones are never
 * called.
 */
#ifndef MVNET_STM32U5XX_HAL_TIM_H
#define MVNET_STM32U5XX_HAL_TIM_H

#include "stm32u5xx_hal_def.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One timer: the STM32U5 register block's layout, in host memory. */
typedef struct {
  __IO uint32_t CR1;
  __IO uint32_t CR2;
  __IO uint32_t SMCR;
  __IO uint32_t DIER;
  __IO uint32_t SR;
  __IO uint32_t EGR;
  __IO uint32_t CCMR1;
  __IO uint32_t CCMR2;
  __IO uint32_t CCER;
  __IO uint32_t CNT;
  __IO uint32_t PSC;
  __IO uint32_t ARR;
  __IO uint32_t RCR;
  __IO uint32_t CCR1;
  __IO uint32_t CCR2;
  __IO uint32_t CCR3;
  __IO uint32_t CCR4;
  __IO uint32_t BDTR;
  __IO uint32_t CCR5;
  __IO uint32_t CCR6;
  __IO uint32_t CCMR3;
  __IO uint32_t DTR2;
  __IO uint32_t ECR;
  __IO uint32_t TISEL;
  __IO uint32_t AF1;
  __IO uint32_t AF2;
  __IO uint32_t OR1;
} TIM_TypeDef;

/* TIM1…TIM8, TIM15, TIM16, TIM17, in that order. Defined in
 * csdk/hal/hal_tim.c. */
#define MVNET_TIM_COUNT 11
extern TIM_TypeDef mvnet_tim[MVNET_TIM_COUNT];

#ifndef TIM1
#define TIM1 (&mvnet_tim[0])
#define TIM2 (&mvnet_tim[1])
#define TIM3 (&mvnet_tim[2])
#define TIM4 (&mvnet_tim[3])
#define TIM5 (&mvnet_tim[4])
#define TIM6 (&mvnet_tim[5])
#define TIM7 (&mvnet_tim[6])
#define TIM8 (&mvnet_tim[7])
#define TIM15 (&mvnet_tim[8])
#define TIM16 (&mvnet_tim[9])
#define TIM17 (&mvnet_tim[10])
#endif

/* The non-secure names of the device header (a Microvisor application runs
 * non-secure): the same instances. */
#ifndef TIM1_NS
#define TIM1_NS TIM1
#define TIM2_NS TIM2
#define TIM3_NS TIM3
#define TIM4_NS TIM4
#define TIM5_NS TIM5
#define TIM6_NS TIM6
#define TIM7_NS TIM7
#define TIM8_NS TIM8
#define TIM15_NS TIM15
#define TIM16_NS TIM16
#define TIM17_NS TIM17
#endif

/* The shortest period the host clock keeps (10 kHz); shorter ones are
 * stretched to it. */
#define MVNET_TIM_MIN_PERIOD_NS 100000U

/* Register bits (STM32U5 reference manual). */
#define TIM_CR1_CEN 0x00000001U
#define TIM_CR1_UDIS 0x00000002U
#define TIM_CR1_URS 0x00000004U
#define TIM_CR1_OPM 0x00000008U
#define TIM_CR1_DIR 0x00000010U
#define TIM_CR1_CMS 0x00000060U
#define TIM_CR1_ARPE 0x00000080U
#define TIM_CR1_CKD 0x00000300U
#define TIM_DIER_UIE 0x00000001U
#define TIM_DIER_CC1IE 0x00000002U
#define TIM_DIER_CC2IE 0x00000004U
#define TIM_DIER_CC3IE 0x00000008U
#define TIM_DIER_CC4IE 0x00000010U
#define TIM_DIER_COMIE 0x00000020U
#define TIM_DIER_TIE 0x00000040U
#define TIM_DIER_BIE 0x00000080U
#define TIM_SR_UIF 0x00000001U
#define TIM_SR_CC1IF 0x00000002U
#define TIM_SR_CC2IF 0x00000004U
#define TIM_SR_CC3IF 0x00000008U
#define TIM_SR_CC4IF 0x00000010U
#define TIM_SR_COMIF 0x00000020U
#define TIM_SR_TIF 0x00000040U
#define TIM_SR_BIF 0x00000080U
#define TIM_EGR_UG 0x00000001U

typedef struct {
  uint32_t Prescaler;         /* PSC: 0…0xFFFF */
  uint32_t CounterMode;       /* TIM_COUNTERMODE_* */
  uint32_t Period;            /* ARR */
  uint32_t ClockDivision;     /* TIM_CLOCKDIVISION_* */
  uint32_t RepetitionCounter; /* RCR (advanced timers) */
  uint32_t AutoReloadPreload; /* TIM_AUTORELOAD_PRELOAD_* */
} TIM_Base_InitTypeDef;

typedef enum {
  HAL_TIM_STATE_RESET = 0x00U,
  HAL_TIM_STATE_READY = 0x01U,
  HAL_TIM_STATE_BUSY = 0x02U,
  HAL_TIM_STATE_TIMEOUT = 0x03U,
  HAL_TIM_STATE_ERROR = 0x04U
} HAL_TIM_StateTypeDef;

typedef enum {
  HAL_TIM_CHANNEL_STATE_RESET = 0x00U,
  HAL_TIM_CHANNEL_STATE_READY = 0x01U,
  HAL_TIM_CHANNEL_STATE_BUSY = 0x02U
} HAL_TIM_ChannelStateTypeDef;

typedef enum {
  HAL_DMA_BURST_STATE_RESET = 0x00U,
  HAL_DMA_BURST_STATE_READY = 0x01U,
  HAL_DMA_BURST_STATE_BUSY = 0x02U
} HAL_TIM_DMABurstStateTypeDef;

typedef enum {
  HAL_TIM_ACTIVE_CHANNEL_1 = 0x01U,
  HAL_TIM_ACTIVE_CHANNEL_2 = 0x02U,
  HAL_TIM_ACTIVE_CHANNEL_3 = 0x04U,
  HAL_TIM_ACTIVE_CHANNEL_4 = 0x08U,
  HAL_TIM_ACTIVE_CHANNEL_5 = 0x10U,
  HAL_TIM_ACTIVE_CHANNEL_6 = 0x20U,
  HAL_TIM_ACTIVE_CHANNEL_CLEARED = 0x00U
} HAL_TIM_ActiveChannel;

typedef struct __TIM_HandleTypeDef {
  TIM_TypeDef *Instance;
  TIM_Base_InitTypeDef Init;
  HAL_TIM_ActiveChannel Channel;
  void *hdma[7]; /* DMA is not emulated: always NULL here */
  HAL_LockTypeDef Lock;
  __IO HAL_TIM_StateTypeDef State;
  __IO HAL_TIM_ChannelStateTypeDef ChannelState[6];
  __IO HAL_TIM_ChannelStateTypeDef ChannelNState[4];
  __IO HAL_TIM_DMABurstStateTypeDef DMABurstState;
} TIM_HandleTypeDef;

#define TIM_COUNTERMODE_UP 0x00000000U
#define TIM_COUNTERMODE_DOWN TIM_CR1_DIR
#define TIM_COUNTERMODE_CENTERALIGNED1 0x00000020U
#define TIM_COUNTERMODE_CENTERALIGNED2 0x00000040U
#define TIM_COUNTERMODE_CENTERALIGNED3 TIM_CR1_CMS
#define TIM_CLOCKDIVISION_DIV1 0x00000000U
#define TIM_CLOCKDIVISION_DIV2 0x00000100U
#define TIM_CLOCKDIVISION_DIV4 0x00000200U
#define TIM_AUTORELOAD_PRELOAD_DISABLE 0x00000000U
#define TIM_AUTORELOAD_PRELOAD_ENABLE TIM_CR1_ARPE

#define TIM_IT_UPDATE TIM_DIER_UIE
#define TIM_IT_CC1 TIM_DIER_CC1IE
#define TIM_IT_CC2 TIM_DIER_CC2IE
#define TIM_IT_CC3 TIM_DIER_CC3IE
#define TIM_IT_CC4 TIM_DIER_CC4IE
#define TIM_IT_COM TIM_DIER_COMIE
#define TIM_IT_TRIGGER TIM_DIER_TIE
#define TIM_IT_BREAK TIM_DIER_BIE
#define TIM_FLAG_UPDATE TIM_SR_UIF
#define TIM_FLAG_CC1 TIM_SR_CC1IF
#define TIM_FLAG_CC2 TIM_SR_CC2IF
#define TIM_FLAG_CC3 TIM_SR_CC3IF
#define TIM_FLAG_CC4 TIM_SR_CC4IF
#define TIM_FLAG_COM TIM_SR_COMIF
#define TIM_FLAG_TRIGGER TIM_SR_TIF
#define TIM_FLAG_BREAK TIM_SR_BIF
#define TIM_EVENTSOURCE_UPDATE TIM_EGR_UG

#define TIM_CHANNEL_1 0x00000000U
#define TIM_CHANNEL_2 0x00000004U
#define TIM_CHANNEL_3 0x00000008U
#define TIM_CHANNEL_4 0x0000000CU
#define TIM_CHANNEL_5 0x00000010U
#define TIM_CHANNEL_6 0x00000014U
#define TIM_CHANNEL_ALL 0x0000003CU

/* ---- Macros: the shapes of ST's HAL (expressions stay expressions,
 * do { } while (0) statements stay statements). ------------------------- */
#define __HAL_TIM_RESET_HANDLE_STATE(__HANDLE__)                          \
  do {                                                                    \
    (__HANDLE__)->State = HAL_TIM_STATE_RESET;                            \
    (__HANDLE__)->DMABurstState = HAL_DMA_BURST_STATE_RESET;              \
  } while (0)
#define __HAL_TIM_ENABLE(__HANDLE__) ((__HANDLE__)->Instance->CR1 |= (TIM_CR1_CEN))
/* ST's HAL leaves the counter running while a channel output is enabled;
 * no channel is emulated, so this always stops it. */
#define __HAL_TIM_DISABLE(__HANDLE__)                                     \
  do {                                                                    \
    (__HANDLE__)->Instance->CR1 &= ~(TIM_CR1_CEN);                        \
  } while (0)
#define __HAL_TIM_ENABLE_IT(__HANDLE__, __INTERRUPT__) ((__HANDLE__)->Instance->DIER |= (__INTERRUPT__))
#define __HAL_TIM_DISABLE_IT(__HANDLE__, __INTERRUPT__) ((__HANDLE__)->Instance->DIER &= ~(__INTERRUPT__))
#define __HAL_TIM_GET_FLAG(__HANDLE__, __FLAG__) (((__HANDLE__)->Instance->SR & (__FLAG__)) == (__FLAG__))
/* SR's flags are cleared by writing 0 (writing 1 changes nothing) on the
 * silicon; host memory has no such rule, so this clears the named flags and
 * keeps the others, which is what the silicon's write does, atomically: the
 * timer's host thread sets UIF at any moment (csdk/hal/hal_tim.c), and a
 * plain read-modify-write could wipe it. */
#define __HAL_TIM_CLEAR_FLAG(__HANDLE__, __FLAG__) \
  (__atomic_and_fetch(&(__HANDLE__)->Instance->SR, ~(uint32_t)(__FLAG__), __ATOMIC_SEQ_CST))
#define __HAL_TIM_GET_IT_SOURCE(__HANDLE__, __INTERRUPT__) \
  ((((__HANDLE__)->Instance->DIER & (__INTERRUPT__)) == (__INTERRUPT__)) ? SET : RESET)
#define __HAL_TIM_CLEAR_IT(__HANDLE__, __INTERRUPT__) __HAL_TIM_CLEAR_FLAG((__HANDLE__), (__INTERRUPT__))
#define __HAL_TIM_IS_TIM_COUNTING_DOWN(__HANDLE__) \
  (((__HANDLE__)->Instance->CR1 & (TIM_CR1_DIR)) == (TIM_CR1_DIR))
#define __HAL_TIM_SET_PRESCALER(__HANDLE__, __PRESC__) ((__HANDLE__)->Instance->PSC = (__PRESC__))
#define __HAL_TIM_GET_COUNTER(__HANDLE__) ((__HANDLE__)->Instance->CNT)
#define __HAL_TIM_SET_COUNTER(__HANDLE__, __COUNTER__) ((__HANDLE__)->Instance->CNT = (__COUNTER__))
#define __HAL_TIM_GET_AUTORELOAD(__HANDLE__) ((__HANDLE__)->Instance->ARR)
#define __HAL_TIM_SET_AUTORELOAD(__HANDLE__, __AUTORELOAD__) \
  do {                                                       \
    (__HANDLE__)->Instance->ARR = (__AUTORELOAD__);          \
    (__HANDLE__)->Init.Period = (__AUTORELOAD__);            \
  } while (0)
#define __HAL_TIM_GET_CLOCKDIVISION(__HANDLE__) ((__HANDLE__)->Instance->CR1 & TIM_CR1_CKD)
#define __HAL_TIM_SET_CLOCKDIVISION(__HANDLE__, __CKD__)  \
  do {                                                    \
    (__HANDLE__)->Instance->CR1 &= (~TIM_CR1_CKD);        \
    (__HANDLE__)->Instance->CR1 |= (__CKD__);             \
    (__HANDLE__)->Init.ClockDivision = (__CKD__);         \
  } while (0)
#define __HAL_TIM_URS_ENABLE(__HANDLE__) ((__HANDLE__)->Instance->CR1 |= TIM_CR1_URS)
#define __HAL_TIM_URS_DISABLE(__HANDLE__) ((__HANDLE__)->Instance->CR1 &= ~TIM_CR1_URS)
#define __HAL_TIM_SET_COMPARE(__HANDLE__, __CHANNEL__, __COMPARE__)                    \
  (((__CHANNEL__) == TIM_CHANNEL_1)   ? ((__HANDLE__)->Instance->CCR1 = (__COMPARE__)) \
   : ((__CHANNEL__) == TIM_CHANNEL_2) ? ((__HANDLE__)->Instance->CCR2 = (__COMPARE__)) \
   : ((__CHANNEL__) == TIM_CHANNEL_3) ? ((__HANDLE__)->Instance->CCR3 = (__COMPARE__)) \
   : ((__CHANNEL__) == TIM_CHANNEL_4) ? ((__HANDLE__)->Instance->CCR4 = (__COMPARE__)) \
   : ((__CHANNEL__) == TIM_CHANNEL_5) ? ((__HANDLE__)->Instance->CCR5 = (__COMPARE__)) \
                                      : ((__HANDLE__)->Instance->CCR6 = (__COMPARE__)))
#define __HAL_TIM_GET_COMPARE(__HANDLE__, __CHANNEL__)                    \
  (((__CHANNEL__) == TIM_CHANNEL_1)   ? ((__HANDLE__)->Instance->CCR1)    \
   : ((__CHANNEL__) == TIM_CHANNEL_2) ? ((__HANDLE__)->Instance->CCR2)    \
   : ((__CHANNEL__) == TIM_CHANNEL_3) ? ((__HANDLE__)->Instance->CCR3)    \
   : ((__CHANNEL__) == TIM_CHANNEL_4) ? ((__HANDLE__)->Instance->CCR4)    \
   : ((__CHANNEL__) == TIM_CHANNEL_5) ? ((__HANDLE__)->Instance->CCR5)    \
                                      : ((__HANDLE__)->Instance->CCR6))

/* ---- Output compare / PWM and master mode: accepted, stored, traced ---- */
typedef struct {
  uint32_t OCMode;       /* TIM_OCMODE_* */
  uint32_t Pulse;        /* CCRx */
  uint32_t OCPolarity;   /* TIM_OCPOLARITY_* */
  uint32_t OCNPolarity;  /* TIM_OCNPOLARITY_* */
  uint32_t OCFastMode;   /* TIM_OCFAST_* */
  uint32_t OCIdleState;  /* TIM_OCIDLESTATE_* */
  uint32_t OCNIdleState; /* TIM_OCNIDLESTATE_* */
} TIM_OC_InitTypeDef;

typedef struct {
  uint32_t MasterOutputTrigger;  /* TIM_TRGO_* */
  uint32_t MasterOutputTrigger2; /* TIM_TRGO2_* */
  uint32_t MasterSlaveMode;      /* TIM_MASTERSLAVEMODE_* */
} TIM_MasterConfigTypeDef;

#define TIM_OCMODE_TIMING 0x00000000U
#define TIM_OCMODE_ACTIVE 0x00000010U
#define TIM_OCMODE_INACTIVE 0x00000020U
#define TIM_OCMODE_TOGGLE 0x00000030U
#define TIM_OCMODE_FORCED_INACTIVE 0x00000040U
#define TIM_OCMODE_FORCED_ACTIVE 0x00000050U
#define TIM_OCMODE_PWM1 0x00000060U
#define TIM_OCMODE_PWM2 0x00000070U
#define TIM_OCPOLARITY_HIGH 0x00000000U
#define TIM_OCPOLARITY_LOW 0x00000002U
#define TIM_OCNPOLARITY_HIGH 0x00000000U
#define TIM_OCNPOLARITY_LOW 0x00000008U
#define TIM_OCFAST_DISABLE 0x00000000U
#define TIM_OCFAST_ENABLE 0x00000004U
#define TIM_OCIDLESTATE_RESET 0x00000000U
#define TIM_OCIDLESTATE_SET 0x00000100U
#define TIM_OCNIDLESTATE_RESET 0x00000000U
#define TIM_OCNIDLESTATE_SET 0x00000200U
#define TIM_TRGO_RESET 0x00000000U
#define TIM_TRGO_ENABLE 0x00000010U
#define TIM_TRGO_UPDATE 0x00000020U
#define TIM_TRGO2_RESET 0x00000000U
#define TIM_MASTERSLAVEMODE_ENABLE 0x00000080U
#define TIM_MASTERSLAVEMODE_DISABLE 0x00000000U

/* PWM: Init as HAL_TIM_Base_Init (with the HAL_TIM_PWM_MspInit hook);
 * ConfigChannel stores Pulse in the channel's CCRx; Start/Stop set/clear
 * the channel's enable and the counter, and are traced with the duty cycle
 * Pulse/(ARR+1). No output is produced. */
HAL_StatusTypeDef HAL_TIM_PWM_Init(TIM_HandleTypeDef *htim);
HAL_StatusTypeDef HAL_TIM_PWM_DeInit(TIM_HandleTypeDef *htim);
MVNET_VISIBLE void HAL_TIM_PWM_MspInit(TIM_HandleTypeDef *htim);   /* application hook (optional) */
MVNET_VISIBLE void HAL_TIM_PWM_MspDeInit(TIM_HandleTypeDef *htim); /* application hook (optional) */
HAL_StatusTypeDef HAL_TIM_PWM_ConfigChannel(TIM_HandleTypeDef *htim, const TIM_OC_InitTypeDef *sConfig,
                                            uint32_t Channel);
HAL_StatusTypeDef HAL_TIM_PWM_Start(TIM_HandleTypeDef *htim, uint32_t Channel);
HAL_StatusTypeDef HAL_TIM_PWM_Stop(TIM_HandleTypeDef *htim, uint32_t Channel);
/* Accepted and ignored (HAL_OK): no timer triggers another here. */
HAL_StatusTypeDef HAL_TIMEx_MasterConfigSynchronization(TIM_HandleTypeDef *htim,
                                                        const TIM_MasterConfigTypeDef *sMasterConfig);

/* ---- Time base -------------------------------------------------------- */

/* Writes Init into the registers (PSC, ARR, CR1's mode, division and
 * preload bits), clears the update flag the reload sets, and leaves the
 * timer stopped; calls HAL_TIM_Base_MspInit first when the handle is in
 * HAL_TIM_STATE_RESET. HAL_ERROR for a NULL handle or an Instance that is
 * not one of TIM1…TIM17 (above). */
HAL_StatusTypeDef HAL_TIM_Base_Init(TIM_HandleTypeDef *htim);
HAL_StatusTypeDef HAL_TIM_Base_DeInit(TIM_HandleTypeDef *htim);
MVNET_VISIBLE void HAL_TIM_Base_MspInit(TIM_HandleTypeDef *htim);   /* application hook (optional) */
MVNET_VISIBLE void HAL_TIM_Base_MspDeInit(TIM_HandleTypeDef *htim); /* application hook (optional) */

/* Start the counter (CR1.CEN) and its host clock; _IT also sets DIER.UIE.
 * HAL_ERROR unless the handle is HAL_TIM_STATE_READY (initialised, not
 * started). Stop: clears CEN (and UIE for _IT); the handle is READY again. */
HAL_StatusTypeDef HAL_TIM_Base_Start(TIM_HandleTypeDef *htim);
HAL_StatusTypeDef HAL_TIM_Base_Stop(TIM_HandleTypeDef *htim);
HAL_StatusTypeDef HAL_TIM_Base_Start_IT(TIM_HandleTypeDef *htim);
HAL_StatusTypeDef HAL_TIM_Base_Stop_IT(TIM_HandleTypeDef *htim);
HAL_TIM_StateTypeDef HAL_TIM_Base_GetState(const TIM_HandleTypeDef *htim);

/* Call from TIMx_IRQHandler: for each of the update and trigger flags that
 * is set and whose interrupt is enabled, clears the flag and calls
 * HAL_TIM_PeriodElapsedCallback / HAL_TIM_TriggerCallback. */
void HAL_TIM_IRQHandler(TIM_HandleTypeDef *htim);
MVNET_VISIBLE void HAL_TIM_PeriodElapsedCallback(TIM_HandleTypeDef *htim); /* application hook (optional) */
MVNET_VISIBLE void HAL_TIM_TriggerCallback(TIM_HandleTypeDef *htim);       /* application hook (optional) */

#ifdef __cplusplus
}
#endif

#endif /* MVNET_STM32U5XX_HAL_TIM_H */
