/*
 * stm32u5xx_hal_uart.h — mvnet host stand-in: UART.
 *
 * A UART handle works as in ST's HAL (huart.Instance = USART2;
 * huart.Init.BaudRate = 115200; HAL_UART_Init(&huart); …). On the host,
 * HAL_UART_Transmit writes the bytes to the process's stdout and flushes it;
 * HAL_UART_Receive has no line to listen to, so it waits out its timeout and
 * returns HAL_TIMEOUT. Init, DeInit and every transmit are recorded in the
 * trace (kind "uart").
 *
 * Not emulated: baud rate, framing, parity, flow control and FIFO settings
 * (stored in the handle, not acted on); interrupt and DMA transfers
 * (HAL_UART_Transmit_IT/_DMA and friends are not provided); any input source
 * for Receive.
 */
#ifndef MVNET_STM32U5XX_HAL_UART_H
#define MVNET_STM32U5XX_HAL_UART_H

#include "stm32u5xx_hal_def.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One USART/UART/LPUART: the STM32U5 register block's layout, in host memory. */
typedef struct {
  __IO uint32_t CR1;
  __IO uint32_t CR2;
  __IO uint32_t CR3;
  __IO uint32_t BRR;
  __IO uint32_t GTPR;
  __IO uint32_t RTOR;
  __IO uint32_t RQR;
  __IO uint32_t ISR;
  __IO uint32_t ICR;
  __IO uint32_t RDR;
  __IO uint32_t TDR;
  __IO uint32_t PRESC;
  __IO uint32_t AUTOCR;
} USART_TypeDef;

/* USART1, USART2, USART3, UART4, UART5, LPUART1, in that order.
 * Defined in csdk/hal/hal_uart.c. */
#define MVNET_USART_COUNT 6
extern USART_TypeDef mvnet_usart[MVNET_USART_COUNT];

#ifndef USART1
#define USART1 (&mvnet_usart[0])
#define USART2 (&mvnet_usart[1])
#define USART3 (&mvnet_usart[2])
#define UART4 (&mvnet_usart[3])
#define UART5 (&mvnet_usart[4])
#define LPUART1 (&mvnet_usart[5])
#endif

typedef struct {
  uint32_t BaudRate;
  uint32_t WordLength;     /* UART_WORDLENGTH_* */
  uint32_t StopBits;       /* UART_STOPBITS_* */
  uint32_t Parity;         /* UART_PARITY_* */
  uint32_t Mode;           /* UART_MODE_* */
  uint32_t HwFlowCtl;      /* UART_HWCONTROL_* */
  uint32_t OverSampling;   /* UART_OVERSAMPLING_* */
  uint32_t OneBitSampling; /* UART_ONE_BIT_SAMPLE_* */
  uint32_t ClockPrescaler; /* UART_PRESCALER_* */
} UART_InitTypeDef;

typedef struct {
  uint32_t AdvFeatureInit;
  uint32_t TxPinLevelInvert;
  uint32_t RxPinLevelInvert;
  uint32_t DataInvert;
  uint32_t Swap;
  uint32_t OverrunDisable;
  uint32_t DMADisableonRxError;
  uint32_t AutoBaudRateEnable;
  uint32_t AutoBaudRateMode;
  uint32_t MSBFirst;
} UART_AdvFeatureInitTypeDef;

typedef uint32_t HAL_UART_StateTypeDef;
typedef uint32_t HAL_UART_RxTypeTypeDef;

typedef struct __UART_HandleTypeDef {
  USART_TypeDef *Instance;
  UART_InitTypeDef Init;
  UART_AdvFeatureInitTypeDef AdvancedInit;
  const uint8_t *pTxBuffPtr;
  uint16_t TxXferSize;
  __IO uint16_t TxXferCount;
  uint8_t *pRxBuffPtr;
  uint16_t RxXferSize;
  __IO uint16_t RxXferCount;
  uint16_t Mask;
  uint32_t FifoMode;
  uint16_t NbRxDataToProcess;
  uint16_t NbTxDataToProcess;
  __IO HAL_UART_RxTypeTypeDef ReceptionType;
  void (*RxISR)(struct __UART_HandleTypeDef *huart);
  void (*TxISR)(struct __UART_HandleTypeDef *huart);
  void *hdmatx; /* DMA is not emulated: always NULL here */
  void *hdmarx;
  HAL_LockTypeDef Lock;
  __IO HAL_UART_StateTypeDef gState;
  __IO HAL_UART_StateTypeDef RxState;
  __IO uint32_t ErrorCode;
} UART_HandleTypeDef;

/* gState / RxState values. */
#define HAL_UART_STATE_RESET 0x00000000U
#define HAL_UART_STATE_READY 0x00000020U
#define HAL_UART_STATE_BUSY 0x00000024U
#define HAL_UART_STATE_BUSY_TX 0x00000021U
#define HAL_UART_STATE_BUSY_RX 0x00000022U
#define HAL_UART_STATE_BUSY_TX_RX 0x00000023U
#define HAL_UART_STATE_TIMEOUT 0x000000A0U
#define HAL_UART_STATE_ERROR 0x000000E0U

/* ErrorCode bits. */
#define HAL_UART_ERROR_NONE (0x00000000U)
#define HAL_UART_ERROR_PE (0x00000001U)
#define HAL_UART_ERROR_NE (0x00000002U)
#define HAL_UART_ERROR_FE (0x00000004U)
#define HAL_UART_ERROR_ORE (0x00000008U)
#define HAL_UART_ERROR_DMA (0x00000010U)
#define HAL_UART_ERROR_RTO (0x00000020U)

/* Init field values (the STM32U5 register bit patterns). */
#define UART_WORDLENGTH_7B (0x10000000U)
#define UART_WORDLENGTH_8B (0x00000000U)
#define UART_WORDLENGTH_9B (0x00001000U)
#define UART_STOPBITS_0_5 (0x00001000U)
#define UART_STOPBITS_1 (0x00000000U)
#define UART_STOPBITS_1_5 (0x00003000U)
#define UART_STOPBITS_2 (0x00002000U)
#define UART_PARITY_NONE (0x00000000U)
#define UART_PARITY_EVEN (0x00000400U)
#define UART_PARITY_ODD (0x00000600U)
#define UART_MODE_RX (0x00000004U)
#define UART_MODE_TX (0x00000008U)
#define UART_MODE_TX_RX (0x0000000CU)
#define UART_HWCONTROL_NONE (0x00000000U)
#define UART_HWCONTROL_RTS (0x00000100U)
#define UART_HWCONTROL_CTS (0x00000200U)
#define UART_HWCONTROL_RTS_CTS (0x00000300U)
#define UART_OVERSAMPLING_16 (0x00000000U)
#define UART_OVERSAMPLING_8 (0x00008000U)
#define UART_ONE_BIT_SAMPLE_DISABLE (0x00000000U)
#define UART_ONE_BIT_SAMPLE_ENABLE (0x00000800U)
#define UART_PRESCALER_DIV1 (0x00000000U)
#define UART_PRESCALER_DIV2 (0x00000001U)
#define UART_PRESCALER_DIV4 (0x00000002U)
#define UART_PRESCALER_DIV6 (0x00000003U)
#define UART_PRESCALER_DIV8 (0x00000004U)
#define UART_PRESCALER_DIV10 (0x00000005U)
#define UART_PRESCALER_DIV12 (0x00000006U)
#define UART_PRESCALER_DIV16 (0x00000007U)
#define UART_PRESCALER_DIV32 (0x00000008U)
#define UART_PRESCALER_DIV64 (0x00000009U)
#define UART_PRESCALER_DIV128 (0x0000000AU)
#define UART_PRESCALER_DIV256 (0x0000000BU)
#define UART_ADVFEATURE_NO_INIT (0x00000000U)
#define UART_FIFOMODE_DISABLE (0x00000000U)
#define UART_FIFOMODE_ENABLE (0x20000000U)

/* Initialises the handle (calls HAL_UART_MspInit first, as ST's HAL does).
 * HAL_ERROR for a NULL handle or an Instance that is not one of USART1…LPUART1. */
HAL_StatusTypeDef HAL_UART_Init(UART_HandleTypeDef *huart);
HAL_StatusTypeDef HAL_UART_DeInit(UART_HandleTypeDef *huart);
MVNET_VISIBLE void HAL_UART_MspInit(UART_HandleTypeDef *huart);   /* application hook (optional) */
MVNET_VISIBLE void HAL_UART_MspDeInit(UART_HandleTypeDef *huart); /* application hook (optional) */

/* Writes Size bytes to stdout and flushes. HAL_ERROR for NULL data or Size 0,
 * HAL_BUSY if the handle is not initialised or already transmitting. */
HAL_StatusTypeDef HAL_UART_Transmit(UART_HandleTypeDef *huart, const uint8_t *pData, uint16_t Size,
                                    uint32_t Timeout);

/* Nothing is ever received on the host: waits Timeout ms (HAL_MAX_DELAY:
 * forever) and returns HAL_TIMEOUT. */
HAL_StatusTypeDef HAL_UART_Receive(UART_HandleTypeDef *huart, uint8_t *pData, uint16_t Size,
                                   uint32_t Timeout);

HAL_UART_StateTypeDef HAL_UART_GetState(const UART_HandleTypeDef *huart);
uint32_t HAL_UART_GetError(const UART_HandleTypeDef *huart);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_STM32U5XX_HAL_UART_H */
