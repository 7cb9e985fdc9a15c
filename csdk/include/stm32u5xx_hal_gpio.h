/*
 * stm32u5xx_hal_gpio.h — mvnet host stand-in: GPIO.
 *
 * Ports GPIOA…GPIOI are host objects laid out like the STM32U5 GPIO register
 * block. HAL_GPIO_Init/WritePin/TogglePin/ReadPin/DeInit update them and
 * record every action in mvnet's trace (kind "gpio"). A pin reads back what
 * was written to it, unless it is configured as an input: then it reads the
 * level set with mvnet_gpio_set_input() (or its pull-up/pull-down default).
 *
 * Not emulated: the electrical side (speed, open drain, alternate functions
 * are recorded, not acted on), pin locking, secure attributes and the
 * high-speed low-voltage option. EXTI: an input edge set with
 * mvnet_gpio_set_input() on a pin configured GPIO_MODE_IT_* latches the EXTI
 * line's pending bit for HAL_GPIO_EXTI_IRQHandler() and pends EXTIn_IRQn in
 * the library's interrupt controller (or calls the hook
 * mvnet_gpio_exti_raise() instead, if something defines it).
 */
#ifndef MVNET_STM32U5XX_HAL_GPIO_H
#define MVNET_STM32U5XX_HAL_GPIO_H

#include "stm32u5xx_hal_def.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One GPIO port: the STM32U5 register block's layout, in host memory. */
typedef struct {
  __IO uint32_t MODER;   /* mode: 00 input, 01 output, 10 alternate, 11 analog */
  __IO uint32_t OTYPER;  /* output type: 0 push-pull, 1 open drain */
  __IO uint32_t OSPEEDR; /* output speed */
  __IO uint32_t PUPDR;   /* pull: 00 none, 01 up, 10 down */
  __IO uint32_t IDR;     /* input data: what ReadPin returns */
  __IO uint32_t ODR;     /* output data: what WritePin drives */
  __IO uint32_t BSRR;    /* bit set/reset (write-only on silicon; unused here) */
  __IO uint32_t LCKR;    /* lock (not emulated) */
  __IO uint32_t AFR[2];  /* alternate function selection, 4 bits per pin */
  __IO uint32_t BRR;     /* bit reset (unused here) */
  __IO uint32_t HSLVR;   /* high-speed low-voltage (not emulated) */
  __IO uint32_t SECCFGR; /* secure configuration (not emulated) */
} GPIO_TypeDef;

/* The ports A…I (the STM32U585 has nine). Defined in csdk/hal/hal_gpio.c. */
#define MVNET_GPIO_PORT_COUNT 9
extern GPIO_TypeDef mvnet_gpio_port[MVNET_GPIO_PORT_COUNT];

#ifndef GPIOA
#define GPIOA (&mvnet_gpio_port[0])
#define GPIOB (&mvnet_gpio_port[1])
#define GPIOC (&mvnet_gpio_port[2])
#define GPIOD (&mvnet_gpio_port[3])
#define GPIOE (&mvnet_gpio_port[4])
#define GPIOF (&mvnet_gpio_port[5])
#define GPIOG (&mvnet_gpio_port[6])
#define GPIOH (&mvnet_gpio_port[7])
#define GPIOI (&mvnet_gpio_port[8])
#endif

/* The non-secure names of the device header (a Microvisor application runs
 * non-secure): the same instances. */
#ifndef GPIOA_NS
#define GPIOA_NS GPIOA
#define GPIOB_NS GPIOB
#define GPIOC_NS GPIOC
#define GPIOD_NS GPIOD
#define GPIOE_NS GPIOE
#define GPIOF_NS GPIOF
#define GPIOG_NS GPIOG
#define GPIOH_NS GPIOH
#define GPIOI_NS GPIOI
#endif

/* HAL_GPIO_Init's settings. */
typedef struct {
  uint32_t Pin;       /* GPIO_PIN_x mask */
  uint32_t Mode;      /* GPIO_MODE_* */
  uint32_t Pull;      /* GPIO_NOPULL, GPIO_PULLUP, GPIO_PULLDOWN */
  uint32_t Speed;     /* GPIO_SPEED_FREQ_* */
  uint32_t Alternate; /* GPIO_AFx_* */
} GPIO_InitTypeDef;

typedef enum {
  GPIO_PIN_RESET = 0U,
  GPIO_PIN_SET
} GPIO_PinState;

#define GPIO_PIN_0 ((uint16_t)0x0001)
#define GPIO_PIN_1 ((uint16_t)0x0002)
#define GPIO_PIN_2 ((uint16_t)0x0004)
#define GPIO_PIN_3 ((uint16_t)0x0008)
#define GPIO_PIN_4 ((uint16_t)0x0010)
#define GPIO_PIN_5 ((uint16_t)0x0020)
#define GPIO_PIN_6 ((uint16_t)0x0040)
#define GPIO_PIN_7 ((uint16_t)0x0080)
#define GPIO_PIN_8 ((uint16_t)0x0100)
#define GPIO_PIN_9 ((uint16_t)0x0200)
#define GPIO_PIN_10 ((uint16_t)0x0400)
#define GPIO_PIN_11 ((uint16_t)0x0800)
#define GPIO_PIN_12 ((uint16_t)0x1000)
#define GPIO_PIN_13 ((uint16_t)0x2000)
#define GPIO_PIN_14 ((uint16_t)0x4000)
#define GPIO_PIN_15 ((uint16_t)0x8000)
#define GPIO_PIN_All ((uint16_t)0xFFFF)
#define GPIO_PIN_MASK (0x0000FFFFU)

/* Modes: 0xX0yz00YZ as in ST's HAL — X EXTI/GPIO, y trigger, z IT/event,
 * Y output type, Z direction. */
#define GPIO_MODE_INPUT (0x00000000U)
#define GPIO_MODE_OUTPUT_PP (0x00000001U)
#define GPIO_MODE_OUTPUT_OD (0x00000011U)
#define GPIO_MODE_AF_PP (0x00000002U)
#define GPIO_MODE_AF_OD (0x00000012U)
#define GPIO_MODE_ANALOG (0x00000003U)
#define GPIO_MODE_ANALOG_ADC_CONTROL (0x0000000BU)
#define GPIO_MODE_IT_RISING (0x10110000U)
#define GPIO_MODE_IT_FALLING (0x10210000U)
#define GPIO_MODE_IT_RISING_FALLING (0x10310000U)
#define GPIO_MODE_EVT_RISING (0x10120000U)
#define GPIO_MODE_EVT_FALLING (0x10220000U)
#define GPIO_MODE_EVT_RISING_FALLING (0x10320000U)

#define GPIO_SPEED_FREQ_LOW (0x00000000U)
#define GPIO_SPEED_FREQ_MEDIUM (0x00000001U)
#define GPIO_SPEED_FREQ_HIGH (0x00000002U)
#define GPIO_SPEED_FREQ_VERY_HIGH (0x00000003U)

#define GPIO_NOPULL (0x00000000U)
#define GPIO_PULLUP (0x00000001U)
#define GPIO_PULLDOWN (0x00000002U)

/* Alternate functions commonly named by application code. The number is the
 * AF index; on the host it is recorded, not routed. */
#define GPIO_AF0_MCO ((uint8_t)0x00)
#define GPIO_AF1_TIM1 ((uint8_t)0x01)
#define GPIO_AF1_TIM2 ((uint8_t)0x01)
#define GPIO_AF1_TIM5 ((uint8_t)0x01)
#define GPIO_AF1_TIM8 ((uint8_t)0x01)
#define GPIO_AF2_TIM3 ((uint8_t)0x02)
#define GPIO_AF2_TIM4 ((uint8_t)0x02)
#define GPIO_AF2_TIM5 ((uint8_t)0x02)
#define GPIO_AF3_TIM8 ((uint8_t)0x03)
#define GPIO_AF4_I2C1 ((uint8_t)0x04)
#define GPIO_AF4_I2C2 ((uint8_t)0x04)
#define GPIO_AF4_I2C3 ((uint8_t)0x04)
#define GPIO_AF4_I2C4 ((uint8_t)0x04)
#define GPIO_AF5_SPI1 ((uint8_t)0x05)
#define GPIO_AF5_SPI2 ((uint8_t)0x05)
#define GPIO_AF6_SPI3 ((uint8_t)0x06)
#define GPIO_AF7_USART1 ((uint8_t)0x07)
#define GPIO_AF7_USART2 ((uint8_t)0x07)
#define GPIO_AF7_USART3 ((uint8_t)0x07)
#define GPIO_AF8_UART4 ((uint8_t)0x08)
#define GPIO_AF8_UART5 ((uint8_t)0x08)
#define GPIO_AF8_LPUART1 ((uint8_t)0x08)
#define GPIO_AF15_EVENTOUT ((uint8_t)0x0F)

#define IS_GPIO_PIN(__PIN__) \
  ((((uint32_t)(__PIN__) & GPIO_PIN_MASK) != 0x00U) && (((uint32_t)(__PIN__) & ~GPIO_PIN_MASK) == 0x00U))
#define IS_GPIO_PIN_ACTION(ACTION) (((ACTION) == GPIO_PIN_RESET) || ((ACTION) == GPIO_PIN_SET))

void HAL_GPIO_Init(GPIO_TypeDef *GPIOx, GPIO_InitTypeDef *GPIO_Init);
void HAL_GPIO_DeInit(GPIO_TypeDef *GPIOx, uint32_t GPIO_Pin);
GPIO_PinState HAL_GPIO_ReadPin(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin);
void HAL_GPIO_WritePin(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin, GPIO_PinState PinState);
void HAL_GPIO_TogglePin(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin);
HAL_StatusTypeDef HAL_GPIO_LockPin(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin);
/* Set/clear the pins' HSLVR bits; nothing electrical follows. */
void HAL_GPIO_EnableHighSPeedLowVoltage(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin);
void HAL_GPIO_DisableHighSPeedLowVoltage(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin);

/* EXTI: clears the line's pending edges and calls the callbacks below
 * (application hooks, called if defined). */
void HAL_GPIO_EXTI_IRQHandler(uint16_t GPIO_Pin);
MVNET_VISIBLE void HAL_GPIO_EXTI_Rising_Callback(uint16_t GPIO_Pin);
MVNET_VISIBLE void HAL_GPIO_EXTI_Falling_Callback(uint16_t GPIO_Pin);

/* EXTI flag macros, with the shapes of ST's HAL: the getters, the one-edge
 * clears and the software trigger are expressions; the both-edge clears
 * are do { } while (0) statements. The lines' pending edges are the
 * HAL's (an EXTI register block is not emulated). */
#define MVNET_EXTI_RISING 1U
#define MVNET_EXTI_FALLING 2U
uint32_t mvnet_gpio_exti_pending(uint32_t lines, uint32_t edges);
void mvnet_gpio_exti_clear(uint32_t lines, uint32_t edges);
void mvnet_gpio_exti_generate(uint32_t lines);
#define __HAL_GPIO_EXTI_GET_RISING_IT(__EXTI_LINE__) mvnet_gpio_exti_pending((__EXTI_LINE__), MVNET_EXTI_RISING)
#define __HAL_GPIO_EXTI_GET_FALLING_IT(__EXTI_LINE__) mvnet_gpio_exti_pending((__EXTI_LINE__), MVNET_EXTI_FALLING)
#define __HAL_GPIO_EXTI_GET_IT(__EXTI_LINE__) \
  (__HAL_GPIO_EXTI_GET_RISING_IT(__EXTI_LINE__) || __HAL_GPIO_EXTI_GET_FALLING_IT(__EXTI_LINE__))
#define __HAL_GPIO_EXTI_CLEAR_RISING_IT(__EXTI_LINE__) mvnet_gpio_exti_clear((__EXTI_LINE__), MVNET_EXTI_RISING)
#define __HAL_GPIO_EXTI_CLEAR_FALLING_IT(__EXTI_LINE__) mvnet_gpio_exti_clear((__EXTI_LINE__), MVNET_EXTI_FALLING)
#define __HAL_GPIO_EXTI_CLEAR_IT(__EXTI_LINE__)      \
  do {                                              \
    __HAL_GPIO_EXTI_CLEAR_RISING_IT(__EXTI_LINE__);  \
    __HAL_GPIO_EXTI_CLEAR_FALLING_IT(__EXTI_LINE__); \
  } while (0)
#define __HAL_GPIO_EXTI_GENERATE_SWIT(__EXTI_LINE__) mvnet_gpio_exti_generate((__EXTI_LINE__))

/* ---- mvnet host extensions (not in ST's HAL) ----------------------------- */

/* Sets the level the outside world drives onto input pins of a port (a test
 * or the runner plays the button, sensor line, …). Recorded in the trace.
 * An edge on a pin in GPIO_MODE_IT_* latches its EXTI line (see above). */
void mvnet_gpio_set_input(GPIO_TypeDef *GPIOx, uint16_t GPIO_Pin, GPIO_PinState PinState);

/* Called (outside any GPIO lock) when an input edge latches EXTI line
 * `line` (0…15), if defined, instead of pending EXTI<line>_IRQn: the HAL
 * only references it weakly. */
void mvnet_gpio_exti_raise(uint32_t line);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_STM32U5XX_HAL_GPIO_H */
