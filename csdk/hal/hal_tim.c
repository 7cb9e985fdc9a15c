//go:build ignore

/*
 * hal_tim.c — timers as period interrupts (the time base part of the TIM
 * HAL).
 *
 * Each TIMx is a register block in host memory. A started timer is a host
 * thread that wakes every (PSC+1)*(ARR+1) timer clock cycles, read from the
 * registers at each period (so __HAL_TIM_SET_AUTORELOAD and friends take
 * effect at the next one). While CR1.CEN is set it sets SR.UIF, and when
 * DIER.UIE is set too it pends the timer's IRQ with NVIC_SetPendingIRQ, the
 * library's interrupt controller (a weak reference: without the library
 * nothing is pended). With the interrupt on, no period is lost: periods that
 * pass while the last update is not yet taken (UIF still set, the handler
 * held back by a busy host or a masked interrupt thread) are counted as
 * owed, up to MVNET_TIM_MAX_OWED_NS of them, and each is delivered as soon
 * as the previous is taken (after HAL_TIM_IRQHandler, or at the next period
 * when the handler clears UIF itself), so a HAL time base's tick keeps up
 * with the clock. With the interrupt off the flag is set once, as the
 * silicon sets it once.
 *
 * Trace events (kind "tim"), never one per period:
 *   {"op":"init","instance":"TIM6","psc":159,"arr":999}
 *   {"op":"start","instance":"TIM6","it":true,"period_us":1000}
 *   {"op":"stop","instance":"TIM6"}
 *   {"op":"deinit","instance":"TIM6"}
 *   {"op":"pwm_start","instance":"TIM4","channel":2,"pulse":499,"duty":0.5}
 *   {"op":"pwm_stop","instance":"TIM4","channel":2}
 *   {"op":"init","error":"bad instance"}  (Instance not TIM1…TIM17)
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stm32u5xx_hal.h"
#include "hal_internal.h"
#include "mvnet_host_clock.h"
#include "mvnet_trace.h"

TIM_TypeDef mvnet_tim[MVNET_TIM_COUNT];

/* The library's interrupt controller (csdk/lib/nvic.c): weak, so that the
 * HAL also links without it (its own tests). */
#pragma weak NVIC_SetPendingIRQ

/* Application hooks: weak references, called only if the application
 * defines them (see hal_symbols.c). */
extern void HAL_TIM_Base_MspInit(TIM_HandleTypeDef *htim) __attribute__((weak));
extern void HAL_TIM_Base_MspDeInit(TIM_HandleTypeDef *htim) __attribute__((weak));
extern void HAL_TIM_PeriodElapsedCallback(TIM_HandleTypeDef *htim) __attribute__((weak));
extern void HAL_TIM_TriggerCallback(TIM_HandleTypeDef *htim) __attribute__((weak));
extern void HAL_TIM_PWM_MspInit(TIM_HandleTypeDef *htim) __attribute__((weak));
extern void HAL_TIM_PWM_MspDeInit(TIM_HandleTypeDef *htim) __attribute__((weak));

static const char *const tim_names[MVNET_TIM_COUNT] = {
    "TIM1", "TIM2", "TIM3", "TIM4", "TIM5", "TIM6", "TIM7", "TIM8", "TIM15", "TIM16", "TIM17",
};

/* The IRQ of each timer's update event (stm32u585xx.h). */
static const IRQn_Type tim_irqs[MVNET_TIM_COUNT] = {
    TIM1_UP_IRQn, TIM2_IRQn, TIM3_IRQn, TIM4_IRQn, TIM5_IRQn, TIM6_IRQn,
    TIM7_IRQn, TIM8_UP_IRQn, TIM15_IRQn, TIM16_IRQn, TIM17_IRQn,
};

/* Whether a timer sits on APB2 (TIM1, TIM8, TIM15–17) rather than APB1. */
static const uint8_t tim_apb2[MVNET_TIM_COUNT] = {1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static TIM_TypeDef *tims_base;
/* mu guards gen; cond (on CLOCK_MONOTONIC) wakes a timer thread early when
 * its timer is stopped or restarted. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
/* gen[i] changes whenever timer i is started or stopped; a thread runs
 * while the generation it was started for is current. */
static uint64_t gen[MVNET_TIM_COUNT];
/* owed[i]: periods of timer i not yet delivered as an update interrupt. */
static uint64_t owed[MVNET_TIM_COUNT];

/* The most periods owed at once: a host stalled for longer loses the rest
 * rather than replaying them in a storm. */
#define MVNET_TIM_MAX_OWED_NS 1000000000ULL

static void setup(void) {
  tims_base = mvnet_hal_canonical("mvnet_tim", mvnet_tim);
  mvnet_mono_cond_init(&cond);
}

/* TIM1…TIM17 as the application sees them (hal_symbols.c). */
static TIM_TypeDef *tims(void) {
  pthread_once(&once, setup);
  return tims_base;
}

static int tim_index(const TIM_TypeDef *t) {
  TIM_TypeDef *base = tims();
  for (int i = 0; i < MVNET_TIM_COUNT; i++) {
    if (t == &base[i]) {
      return i;
    }
  }
  return -1;
}

static void trace(const char *fields) {
  mvnet_trace_event("tim", fields);
}

/* The update period of timer i from its registers, in ns (0: ARR is 0, the
 * counter does not run). The timer clock is the bus clock: every APB
 * prescaler is 1 on the host (HAL_RCC_GetClockConfig), so ST's "x2 when the
 * APB prescaler is not 1" rule does not apply. */
static uint64_t period_ns(int i) {
  TIM_TypeDef *t = &tims()[i];
  uint64_t arr = t->ARR;
  if (arr == 0) {
    return 0;
  }
  uint64_t clk = tim_apb2[i] ? HAL_RCC_GetPCLK2Freq() : HAL_RCC_GetPCLK1Freq();
  uint64_t ticks = ((uint64_t)(t->PSC & 0xFFFFU) + 1U) * (arr + 1U); /* < 2^49 */
  uint64_t ns = (ticks / clk) * 1000000000ULL + (ticks % clk) * 1000000000ULL / clk;
  return ns < MVNET_TIM_MIN_PERIOD_NS ? MVNET_TIM_MIN_PERIOD_NS : ns;
}

static struct timespec to_timespec(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
  return ts;
}

/* The host clock of one timer, for one generation: packs the index and the
 * generation it serves. */
struct run {
  int i;
  uint64_t gen;
};

/* deliver hands timer i's next owed period over if the last one was taken
 * (UIF clear): sets UIF and returns the IRQ to pend (once mu is released),
 * or -1. mu held. */
static int deliver(int i) {
  TIM_TypeDef *t = &tims()[i];
  if (owed[i] == 0 || (t->CR1 & TIM_CR1_CEN) == 0 || (t->DIER & TIM_DIER_UIE) == 0) {
    return -1;
  }
  if ((__atomic_load_n(&t->SR, __ATOMIC_SEQ_CST) & TIM_SR_UIF) != 0) {
    return -1; /* not taken yet */
  }
  owed[i]--;
  __atomic_or_fetch(&t->SR, TIM_SR_UIF, __ATOMIC_SEQ_CST);
  return tim_irqs[i];
}

/* pend_unlocked pends irq (from deliver) with mu released. mu held. */
static void pend_unlocked(int irq) {
  if (irq < 0 || NVIC_SetPendingIRQ == NULL) {
    return;
  }
  pthread_mutex_unlock(&mu);
  NVIC_SetPendingIRQ((IRQn_Type)irq);
  pthread_mutex_lock(&mu);
}

static void *tick_main(void *arg) {
  struct run r = *(struct run *)arg;
  free(arg);
  TIM_TypeDef *t = &tims()[r.i];
  pthread_mutex_lock(&mu);
  uint64_t deadline = mvnet_mono_ns();
  while (gen[r.i] == r.gen) {
    uint64_t p = period_ns(r.i);
    deadline += p != 0 ? p : MVNET_TIM_MIN_PERIOD_NS;
    struct timespec ts = to_timespec(deadline);
    while (gen[r.i] == r.gen && mvnet_mono_ns() < deadline) {
      int err = pthread_cond_timedwait(&cond, &mu, &ts);
      if (err != 0 && err != ETIMEDOUT && err != EINTR) {
        break;
      }
    }
    if (gen[r.i] != r.gen) {
      break;
    }
    uint64_t now = mvnet_mono_ns();
    uint64_t periods = 1;
    if (p != 0 && now - deadline >= p) {
      uint64_t late = (now - deadline) / p; /* whole periods passed meanwhile */
      periods += late;
      deadline += late * p;
    }
    if (p == 0 || (t->CR1 & TIM_CR1_CEN) == 0) {
      continue;
    }
    if ((t->DIER & TIM_DIER_UIE) == 0 || NVIC_SetPendingIRQ == NULL) {
      __atomic_or_fetch(&t->SR, TIM_SR_UIF, __ATOMIC_SEQ_CST); /* polled: set once */
      continue;
    }
    uint64_t cap = MVNET_TIM_MAX_OWED_NS / p;
    owed[r.i] += periods;
    if (owed[r.i] > (cap > 0 ? cap : 1)) {
      owed[r.i] = cap > 0 ? cap : 1;
    }
    pend_unlocked(deliver(r.i));
  }
  pthread_mutex_unlock(&mu);
  return NULL;
}

/* Starts (or restarts) timer i's host clock. mu held. The thread blocks
 * asynchronous signals, so the application's handlers run on its own
 * threads. */
static int start_clock(int i) {
  gen[i]++;
  owed[i] = 0;
  pthread_cond_broadcast(&cond);
  struct run *r = malloc(sizeof *r);
  if (r == NULL) {
    return -1;
  }
  r->i = i;
  r->gen = gen[i];
  sigset_t all, old;
  sigfillset(&all);
  int keep[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};
  for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++) {
    sigdelset(&all, keep[k]);
  }
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t th;
  int err = pthread_create(&th, NULL, tick_main, r);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err != 0) {
    free(r);
    return -1;
  }
  pthread_detach(th);
  return 0;
}

/* Stops timer i's host clock (its thread ends at its next wakeup). mu held. */
static void stop_clock(int i) {
  gen[i]++;
  owed[i] = 0;
  pthread_cond_broadcast(&cond);
}

static int handle_index(const TIM_HandleTypeDef *htim) {
  return htim == NULL ? -1 : tim_index(htim->Instance);
}

typedef void (*msp_hook)(TIM_HandleTypeDef *htim);

/* Base_Init and PWM_Init: msp is the application's hook or NULL. */
static HAL_StatusTypeDef init(TIM_HandleTypeDef *htim, msp_hook msp) {
  if (htim == NULL) {
    return HAL_ERROR;
  }
  int i = handle_index(htim);
  if (i < 0) {
    trace("\"op\":\"init\",\"error\":\"bad instance\"");
    return HAL_ERROR;
  }
  if (htim->State == HAL_TIM_STATE_RESET) {
    htim->Lock = HAL_UNLOCKED;
    if (msp != NULL) {
      msp(htim);
    }
  }
  htim->State = HAL_TIM_STATE_BUSY;
  TIM_TypeDef *t = htim->Instance;
  uint32_t cr1 = t->CR1 & ~(TIM_CR1_DIR | TIM_CR1_CMS | TIM_CR1_CKD | TIM_CR1_ARPE);
  cr1 |= htim->Init.CounterMode & (TIM_CR1_DIR | TIM_CR1_CMS);
  cr1 |= htim->Init.ClockDivision & TIM_CR1_CKD;
  cr1 |= htim->Init.AutoReloadPreload & TIM_CR1_ARPE;
  t->CR1 = cr1;
  t->ARR = htim->Init.Period;
  t->PSC = htim->Init.Prescaler & 0xFFFFU;
  t->RCR = htim->Init.RepetitionCounter;
  /* The reload (EGR.UG) sets the update flag; ST's HAL clears it so that
   * starting the timer does not fire at once. */
  t->EGR = TIM_EGR_UG;
  t->CNT = 0;
  __atomic_and_fetch(&t->SR, ~TIM_SR_UIF, __ATOMIC_SEQ_CST);
  htim->DMABurstState = HAL_DMA_BURST_STATE_READY;
  for (int c = 0; c < 6; c++) {
    htim->ChannelState[c] = HAL_TIM_CHANNEL_STATE_READY;
  }
  for (int c = 0; c < 4; c++) {
    htim->ChannelNState[c] = HAL_TIM_CHANNEL_STATE_READY;
  }
  htim->State = HAL_TIM_STATE_READY;
  char buf[96];
  snprintf(buf, sizeof buf, "\"op\":\"init\",\"instance\":\"%s\",\"psc\":%u,\"arr\":%u", tim_names[i],
           (unsigned)t->PSC, (unsigned)t->ARR);
  trace(buf);
  return HAL_OK;
}

HAL_StatusTypeDef HAL_TIM_Base_Init(TIM_HandleTypeDef *htim) {
  return init(htim, HAL_TIM_Base_MspInit);
}

HAL_StatusTypeDef HAL_TIM_PWM_Init(TIM_HandleTypeDef *htim) {
  return init(htim, HAL_TIM_PWM_MspInit);
}

static HAL_StatusTypeDef deinit(TIM_HandleTypeDef *htim, msp_hook msp) {
  int i = handle_index(htim);
  if (i < 0) {
    return HAL_ERROR;
  }
  htim->State = HAL_TIM_STATE_BUSY;
  pthread_mutex_lock(&mu);
  htim->Instance->CR1 &= ~TIM_CR1_CEN;
  htim->Instance->CCER = 0;
  stop_clock(i);
  pthread_mutex_unlock(&mu);
  if (msp != NULL) {
    msp(htim);
  }
  htim->DMABurstState = HAL_DMA_BURST_STATE_RESET;
  for (int c = 0; c < 6; c++) {
    htim->ChannelState[c] = HAL_TIM_CHANNEL_STATE_RESET;
  }
  for (int c = 0; c < 4; c++) {
    htim->ChannelNState[c] = HAL_TIM_CHANNEL_STATE_RESET;
  }
  htim->State = HAL_TIM_STATE_RESET;
  char buf[64];
  snprintf(buf, sizeof buf, "\"op\":\"deinit\",\"instance\":\"%s\"", tim_names[i]);
  trace(buf);
  return HAL_OK;
}

HAL_StatusTypeDef HAL_TIM_Base_DeInit(TIM_HandleTypeDef *htim) {
  return deinit(htim, HAL_TIM_Base_MspDeInit);
}

HAL_StatusTypeDef HAL_TIM_PWM_DeInit(TIM_HandleTypeDef *htim) {
  return deinit(htim, HAL_TIM_PWM_MspDeInit);
}

/* The compare register of a TIM_CHANNEL_x, or NULL. */
static __IO uint32_t *ccr(TIM_TypeDef *t, uint32_t channel) {
  switch (channel) {
  case TIM_CHANNEL_1:
    return &t->CCR1;
  case TIM_CHANNEL_2:
    return &t->CCR2;
  case TIM_CHANNEL_3:
    return &t->CCR3;
  case TIM_CHANNEL_4:
    return &t->CCR4;
  case TIM_CHANNEL_5:
    return &t->CCR5;
  case TIM_CHANNEL_6:
    return &t->CCR6;
  default:
    return NULL;
  }
}

HAL_StatusTypeDef HAL_TIM_PWM_ConfigChannel(TIM_HandleTypeDef *htim, const TIM_OC_InitTypeDef *sConfig,
                                            uint32_t Channel) {
  if (handle_index(htim) < 0 || sConfig == NULL || ccr(htim->Instance, Channel) == NULL) {
    return HAL_ERROR;
  }
  *ccr(htim->Instance, Channel) = sConfig->Pulse;
  return HAL_OK;
}

static HAL_StatusTypeDef pwm(TIM_HandleTypeDef *htim, uint32_t Channel, int on) {
  int i = handle_index(htim);
  if (i < 0 || ccr(htim->Instance, Channel) == NULL) {
    return HAL_ERROR;
  }
  TIM_TypeDef *t = htim->Instance;
  uint32_t enable = 1U << Channel; /* CCER.CCxE: bit 0, 4, 8 … */
  char buf[128];
  if (on) {
    t->CCER |= enable;
    t->CR1 |= TIM_CR1_CEN;
    uint32_t pulse = *ccr(t, Channel);
    double duty = (double)pulse / ((double)t->ARR + 1.0);
    snprintf(buf, sizeof buf, "\"op\":\"pwm_start\",\"instance\":\"%s\",\"channel\":%u,\"pulse\":%u,\"duty\":%.4g",
             tim_names[i], (unsigned)(Channel / 4U + 1U), (unsigned)pulse, duty > 1.0 ? 1.0 : duty);
  } else {
    t->CCER &= ~enable;
    if ((t->CCER & 0x00111111U) == 0U) {
      t->CR1 &= ~TIM_CR1_CEN; /* ST's HAL stops the counter when no channel is left on */
    }
    snprintf(buf, sizeof buf, "\"op\":\"pwm_stop\",\"instance\":\"%s\",\"channel\":%u", tim_names[i],
             (unsigned)(Channel / 4U + 1U));
  }
  trace(buf);
  return HAL_OK;
}

HAL_StatusTypeDef HAL_TIM_PWM_Start(TIM_HandleTypeDef *htim, uint32_t Channel) {
  return pwm(htim, Channel, 1);
}

HAL_StatusTypeDef HAL_TIM_PWM_Stop(TIM_HandleTypeDef *htim, uint32_t Channel) {
  return pwm(htim, Channel, 0);
}

HAL_StatusTypeDef HAL_TIMEx_MasterConfigSynchronization(TIM_HandleTypeDef *htim,
                                                        const TIM_MasterConfigTypeDef *sMasterConfig) {
  return handle_index(htim) < 0 || sMasterConfig == NULL ? HAL_ERROR : HAL_OK;
}

static HAL_StatusTypeDef start(TIM_HandleTypeDef *htim, int it) {
  int i = handle_index(htim);
  if (i < 0 || htim->State != HAL_TIM_STATE_READY) {
    return HAL_ERROR;
  }
  htim->State = HAL_TIM_STATE_BUSY;
  TIM_TypeDef *t = htim->Instance;
  pthread_mutex_lock(&mu);
  if (it) {
    t->DIER |= TIM_DIER_UIE;
  }
  t->CR1 |= TIM_CR1_CEN;
  int err = start_clock(i);
  uint64_t p = period_ns(i);
  pthread_mutex_unlock(&mu);
  if (err != 0) {
    t->CR1 &= ~TIM_CR1_CEN;
    htim->State = HAL_TIM_STATE_READY;
    return HAL_ERROR;
  }
  char buf[112];
  snprintf(buf, sizeof buf, "\"op\":\"start\",\"instance\":\"%s\",\"it\":%s,\"period_us\":%llu", tim_names[i],
           it ? "true" : "false", (unsigned long long)(p / 1000U));
  trace(buf);
  return HAL_OK;
}

static HAL_StatusTypeDef stop(TIM_HandleTypeDef *htim, int it) {
  int i = handle_index(htim);
  if (i < 0) {
    return HAL_ERROR;
  }
  TIM_TypeDef *t = htim->Instance;
  pthread_mutex_lock(&mu);
  if (it) {
    t->DIER &= ~TIM_DIER_UIE;
  }
  t->CR1 &= ~TIM_CR1_CEN;
  stop_clock(i);
  pthread_mutex_unlock(&mu);
  htim->State = HAL_TIM_STATE_READY;
  char buf[64];
  snprintf(buf, sizeof buf, "\"op\":\"stop\",\"instance\":\"%s\"", tim_names[i]);
  trace(buf);
  return HAL_OK;
}

HAL_StatusTypeDef HAL_TIM_Base_Start(TIM_HandleTypeDef *htim) {
  return start(htim, 0);
}

HAL_StatusTypeDef HAL_TIM_Base_Stop(TIM_HandleTypeDef *htim) {
  return stop(htim, 0);
}

HAL_StatusTypeDef HAL_TIM_Base_Start_IT(TIM_HandleTypeDef *htim) {
  return start(htim, 1);
}

HAL_StatusTypeDef HAL_TIM_Base_Stop_IT(TIM_HandleTypeDef *htim) {
  return stop(htim, 1);
}

HAL_TIM_StateTypeDef HAL_TIM_Base_GetState(const TIM_HandleTypeDef *htim) {
  return htim->State;
}

void HAL_TIM_IRQHandler(TIM_HandleTypeDef *htim) {
  int i = handle_index(htim);
  if (i < 0) {
    return;
  }
  TIM_TypeDef *t = htim->Instance;
  uint32_t flags = t->SR;
  uint32_t sources = t->DIER;
  if ((flags & TIM_FLAG_UPDATE) != 0 && (sources & TIM_IT_UPDATE) != 0) {
    __atomic_and_fetch(&t->SR, ~TIM_FLAG_UPDATE, __ATOMIC_SEQ_CST);
    if (HAL_TIM_PeriodElapsedCallback != NULL) {
      HAL_TIM_PeriodElapsedCallback(htim);
    }
  }
  if ((flags & TIM_FLAG_TRIGGER) != 0 && (sources & TIM_IT_TRIGGER) != 0) {
    __atomic_and_fetch(&t->SR, ~TIM_FLAG_TRIGGER, __ATOMIC_SEQ_CST);
    if (HAL_TIM_TriggerCallback != NULL) {
      HAL_TIM_TriggerCallback(htim);
    }
  }
  /* This update taken: the next owed one, if any, follows at once. */
  pthread_mutex_lock(&mu);
  pend_unlocked(deliver(i));
  pthread_mutex_unlock(&mu);
}
