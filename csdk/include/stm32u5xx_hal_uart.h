/*
 * stm32u5xx_hal_uart.h — mvnet host stand-in: UART.
 *
 * A UART handle works as in ST's HAL (huart.Instance = USART2;
 * huart.Init.BaudRate = 115200; HAL_UART_Init(&huart); …). On the host,
 * HAL_UART_Transmit writes the bytes to the process's stdout and flushes it,
 * and hands them to the device the board file (MVNET_BOARD) attaches to the
 * UART; HAL_UART_Receive (and the _IT receptions below) read what that
 * board sends. Without a board nothing comes and Receive times out. Every
 * call is recorded in the trace (kind "uart").
 *
 * Not emulated: baud rate, framing, parity, flow control and FIFO settings
 * (stored in the handle, not acted on); transmit interrupts and DMA
 * (HAL_UART_Transmit_IT/_DMA and friends are not provided).
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

/* The non-secure names of the device header (a Microvisor application runs
 * non-secure): the same instances. */
#ifndef USART1_NS
#define USART1_NS USART1
#define USART2_NS USART2
#define USART3_NS USART3
#define UART4_NS UART4
#define UART5_NS UART5
#define LPUART1_NS LPUART1
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

/* Register bits (STM32U5 reference manual) used by the macros below. */
#define USART_CR1_UE 0x00000001U
#define USART_RQR_ABRRQ 0x00000001U
#define USART_RQR_SBKRQ 0x00000002U
#define USART_RQR_MMRQ 0x00000004U
#define USART_RQR_RXFRQ 0x00000008U
#define USART_RQR_TXFRQ 0x00000010U

/* ISR flags. HAL_UART_Init leaves an idle UART's ISR: TXE, TC, TEACK, REACK. */
#define UART_FLAG_PE 0x00000001U
#define UART_FLAG_FE 0x00000002U
#define UART_FLAG_NE 0x00000004U
#define UART_FLAG_ORE 0x00000008U
#define UART_FLAG_IDLE 0x00000010U
#define UART_FLAG_RXNE 0x00000020U
#define UART_FLAG_RXFNE 0x00000020U
#define UART_FLAG_TC 0x00000040U
#define UART_FLAG_TXE 0x00000080U
#define UART_FLAG_TXFNF 0x00000080U
#define UART_FLAG_LBDF 0x00000100U
#define UART_FLAG_CTSIF 0x00000200U
#define UART_FLAG_CTS 0x00000400U
#define UART_FLAG_RTOF 0x00000800U
#define UART_FLAG_ABRE 0x00004000U
#define UART_FLAG_ABRF 0x00008000U
#define UART_FLAG_BUSY 0x00010000U
#define UART_FLAG_CMF 0x00020000U
#define UART_FLAG_SBKF 0x00040000U
#define UART_FLAG_RWU 0x00080000U
#define UART_FLAG_WUF 0x00100000U
#define UART_FLAG_TEACK 0x00200000U
#define UART_FLAG_REACK 0x00400000U
#define UART_FLAG_TXFE 0x00800000U
#define UART_FLAG_RXFF 0x01000000U
#define UART_FLAG_TXFT 0x08000000U
#define UART_FLAG_RXFT 0x04000000U

/* ICR clear bits. */
#define UART_CLEAR_PEF 0x00000001U
#define UART_CLEAR_FEF 0x00000002U
#define UART_CLEAR_NEF 0x00000004U
#define UART_CLEAR_OREF 0x00000008U
#define UART_CLEAR_IDLEF 0x00000010U
#define UART_CLEAR_TXFECF 0x00000020U
#define UART_CLEAR_TCF 0x00000040U
#define UART_CLEAR_LBDF 0x00000100U
#define UART_CLEAR_CTSF 0x00000200U
#define UART_CLEAR_RTOF 0x00000800U
#define UART_CLEAR_CMF 0x00020000U
#define UART_CLEAR_WUF 0x00100000U

/* Interrupts, in ST's encoding: bits 4:0 the enable bit's position, bits
 * 7:5 its register (1 CR1, 2 CR2, 3 CR3), bits 15:8 the ISR flag's. */
#define UART_IT_MASK 0x001FU
#define UART_IT_PE 0x0028U
#define UART_IT_TXE 0x0727U
#define UART_IT_TXFNF 0x0727U
#define UART_IT_TC 0x0626U
#define UART_IT_RXNE 0x0525U
#define UART_IT_RXFNE 0x0525U
#define UART_IT_IDLE 0x0424U
#define UART_IT_LBD 0x0846U
#define UART_IT_CTS 0x096AU
#define UART_IT_CM 0x112EU
#define UART_IT_WUF 0x1476U
#define UART_IT_RXFF 0x183FU
#define UART_IT_TXFE 0x173EU
#define UART_IT_RXFT 0x1A7CU
#define UART_IT_TXFT 0x1B77U
#define UART_IT_RTO 0x0B3AU
#define UART_IT_ERR 0x0060U
#define UART_IT_ORE 0x0300U
#define UART_IT_NE 0x0200U
#define UART_IT_FE 0x0100U

#define UART_RXDATA_FLUSH_REQUEST USART_RQR_RXFRQ
#define UART_TXDATA_FLUSH_REQUEST USART_RQR_TXFRQ
#define UART_SENDBREAK_REQUEST USART_RQR_SBKRQ
#define UART_MUTE_MODE_REQUEST USART_RQR_MMRQ
#define UART_AUTOBAUD_REQUEST USART_RQR_ABRRQ

/* Macros, with the shapes of ST's HAL: register accesses are expressions,
 * the multi-step ones do { } while (0) statements. They act on the
 * USARTx register block in host memory; nothing is transmitted by them. */
#define __HAL_UART_RESET_HANDLE_STATE(__HANDLE__)   \
  do {                                              \
    (__HANDLE__)->gState = HAL_UART_STATE_RESET;    \
    (__HANDLE__)->RxState = HAL_UART_STATE_RESET;   \
  } while (0U)
#define __HAL_UART_FLUSH_DRREGISTER(__HANDLE__)                         \
  do {                                                                  \
    SET_BIT((__HANDLE__)->Instance->RQR, UART_RXDATA_FLUSH_REQUEST);    \
    SET_BIT((__HANDLE__)->Instance->RQR, UART_TXDATA_FLUSH_REQUEST);    \
  } while (0U)
#define __HAL_UART_ENABLE(__HANDLE__) ((__HANDLE__)->Instance->CR1 |= USART_CR1_UE)
#define __HAL_UART_DISABLE(__HANDLE__) ((__HANDLE__)->Instance->CR1 &= ~USART_CR1_UE)
#define __HAL_UART_GET_FLAG(__HANDLE__, __FLAG__) (((__HANDLE__)->Instance->ISR & (__FLAG__)) == (__FLAG__))
/* ICR is write-1-to-clear on the silicon; here the write clears, atomically,
 * the ISR flags its bits name. ICR and ISR bits share positions except
 * TXFECF (ICR bit 5) for TXFE (ISR bit 23) and TCBGTCF (bit 7) for TCBGT
 * (bit 25): MVNET_UART_ICR_TO_ISR maps them. */
#define MVNET_UART_ICR_TO_ISR(__ICR__)                                                  \
  (((uint32_t)(__ICR__) & ~(UART_CLEAR_TXFECF | 0x00000080U)) |                         \
   (((uint32_t)(__ICR__) & UART_CLEAR_TXFECF) != 0U ? UART_FLAG_TXFE : 0U) |            \
   (((uint32_t)(__ICR__) & 0x00000080U) != 0U ? 0x02000000U : 0U))
#define __HAL_UART_CLEAR_FLAG(__HANDLE__, __FLAG__) \
  (__atomic_and_fetch(&(__HANDLE__)->Instance->ISR, ~MVNET_UART_ICR_TO_ISR(__FLAG__), __ATOMIC_SEQ_CST))
#define __HAL_UART_CLEAR_IT(__HANDLE__, __IT_CLEAR__) __HAL_UART_CLEAR_FLAG((__HANDLE__), (__IT_CLEAR__))
#define __HAL_UART_CLEAR_PEFLAG(__HANDLE__) __HAL_UART_CLEAR_FLAG((__HANDLE__), UART_CLEAR_PEF)
#define __HAL_UART_CLEAR_FEFLAG(__HANDLE__) __HAL_UART_CLEAR_FLAG((__HANDLE__), UART_CLEAR_FEF)
#define __HAL_UART_CLEAR_NEFLAG(__HANDLE__) __HAL_UART_CLEAR_FLAG((__HANDLE__), UART_CLEAR_NEF)
#define __HAL_UART_CLEAR_OREFLAG(__HANDLE__) __HAL_UART_CLEAR_FLAG((__HANDLE__), UART_CLEAR_OREF)
#define __HAL_UART_CLEAR_IDLEFLAG(__HANDLE__) __HAL_UART_CLEAR_FLAG((__HANDLE__), UART_CLEAR_IDLEF)
#define __HAL_UART_CLEAR_TXFECF(__HANDLE__) __HAL_UART_CLEAR_FLAG((__HANDLE__), UART_CLEAR_TXFECF)
#define __HAL_UART_ENABLE_IT(__HANDLE__, __INTERRUPT__)                                                         \
  (((((__INTERRUPT__) & 0xFFU) >> 5U) == 1U)   ? ((__HANDLE__)->Instance->CR1 |= (1UL << ((__INTERRUPT__) & UART_IT_MASK))) \
   : ((((__INTERRUPT__) & 0xFFU) >> 5U) == 2U) ? ((__HANDLE__)->Instance->CR2 |= (1UL << ((__INTERRUPT__) & UART_IT_MASK))) \
                                               : ((__HANDLE__)->Instance->CR3 |= (1UL << ((__INTERRUPT__) & UART_IT_MASK))))
#define __HAL_UART_DISABLE_IT(__HANDLE__, __INTERRUPT__)                                                         \
  (((((__INTERRUPT__) & 0xFFU) >> 5U) == 1U)   ? ((__HANDLE__)->Instance->CR1 &= ~(1UL << ((__INTERRUPT__) & UART_IT_MASK))) \
   : ((((__INTERRUPT__) & 0xFFU) >> 5U) == 2U) ? ((__HANDLE__)->Instance->CR2 &= ~(1UL << ((__INTERRUPT__) & UART_IT_MASK))) \
                                               : ((__HANDLE__)->Instance->CR3 &= ~(1UL << ((__INTERRUPT__) & UART_IT_MASK))))
#define __HAL_UART_GET_IT(__HANDLE__, __INTERRUPT__) \
  ((((__HANDLE__)->Instance->ISR & (1UL << ((__INTERRUPT__) >> 8U))) != 0U) ? SET : RESET)
#define MVNET_UART_IT_CR(__HANDLE__, __INTERRUPT__)                   \
  (((((__INTERRUPT__) & 0xFFU) >> 5U) == 1U)   ? (__HANDLE__)->Instance->CR1 \
   : ((((__INTERRUPT__) & 0xFFU) >> 5U) == 2U) ? (__HANDLE__)->Instance->CR2 \
                                               : (__HANDLE__)->Instance->CR3)
#define __HAL_UART_GET_IT_SOURCE(__HANDLE__, __INTERRUPT__) \
  (((MVNET_UART_IT_CR((__HANDLE__), (__INTERRUPT__)) & (1UL << ((__INTERRUPT__) & UART_IT_MASK))) != 0U) ? SET : RESET)
#define __HAL_UART_SEND_REQ(__HANDLE__, __REQ__) ((__HANDLE__)->Instance->RQR |= (uint16_t)(__REQ__))

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

/* Receives what the board file sends on the UART (docs/peripherals.md):
 * HAL_OK once Size bytes came, else HAL_TIMEOUT after Timeout ms
 * (HAL_MAX_DELAY: none) with the bytes that came in pData and RxXferCount
 * the number missing. Without a board nothing comes. */
HAL_StatusTypeDef HAL_UART_Receive(UART_HandleTypeDef *huart, uint8_t *pData, uint16_t Size,
                                   uint32_t Timeout);

/* ReceptionType values. */
#define HAL_UART_RECEPTION_STANDARD 0x00000000U
#define HAL_UART_RECEPTION_TOIDLE 0x00000001U

/* Interrupt-mode receptions (hal_uart.c): the bytes come in the
 * background; when Size came (Receive_IT), or when the line goes idle after
 * at least one byte (ReceiveToIdle_IT), USARTn_IRQn is pended and
 * HAL_UART_IRQHandler, called from the application's USARTn_IRQHandler,
 * makes the handle READY and calls HAL_UART_RxCpltCallback /
 * HAL_UARTEx_RxEventCallback(huart, bytes received). */
HAL_StatusTypeDef HAL_UART_Receive_IT(UART_HandleTypeDef *huart, uint8_t *pData, uint16_t Size);
HAL_StatusTypeDef HAL_UARTEx_ReceiveToIdle_IT(UART_HandleTypeDef *huart, uint8_t *pData, uint16_t Size);
HAL_StatusTypeDef HAL_UART_AbortReceive(UART_HandleTypeDef *huart);
void HAL_UART_IRQHandler(UART_HandleTypeDef *huart);
MVNET_VISIBLE void HAL_UART_RxCpltCallback(UART_HandleTypeDef *huart);                /* application hook */
MVNET_VISIBLE void HAL_UARTEx_RxEventCallback(UART_HandleTypeDef *huart, uint16_t Size); /* application hook */

HAL_UART_StateTypeDef HAL_UART_GetState(const UART_HandleTypeDef *huart);
uint32_t HAL_UART_GetError(const UART_HandleTypeDef *huart);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_STM32U5XX_HAL_UART_H */
