/*
 * stm32u5xx_hal_spi.h — mvnet host stand-in: SPI (controller mode).
 *
 * An SPI handle works as in ST's HAL (hspi.Instance = SPI1;
 * hspi.Init.Mode = SPI_MODE_MASTER; …; HAL_SPI_Init(&hspi);
 * HAL_SPI_TransmitReceive(&hspi, tx, rx, n, 100)). On the host each call is
 * one full-duplex transfer on the simulated bus of the same name (board
 * file: MVNET_BOARD, docs/peripherals.md). The device that answers is the
 * one whose chip select is active: a GPIO output the application drives
 * low with HAL_GPIO_WritePin (Init.NSS = SPI_NSS_SOFT), or the hardware NSS
 * line for the length of the call (SPI_NSS_HARD_OUTPUT). With nothing
 * selected, MISO reads 0xFF. Every call is one trace event (kind "spi").
 *
 * Not emulated: clock rate, polarity/phase, CRC, TI mode, FIFO thresholds
 * (stored, not acted on); LSB-first frames; target (slave) mode; DMA;
 * interrupt transfers (…_IT are not provided). Frames wider than 8 bits
 * go out most significant byte first.
 */
#ifndef MVNET_STM32U5XX_HAL_SPI_H
#define MVNET_STM32U5XX_HAL_SPI_H

#include "stm32u5xx_hal_def.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MVNET_HAVE_SPI_TYPEDEF
#define MVNET_HAVE_SPI_TYPEDEF
/* One SPI peripheral: the STM32U5 register block's layout (RM0456). */
typedef struct {
  __IO uint32_t CR1;
  __IO uint32_t CR2;
  __IO uint32_t CFG1;
  __IO uint32_t CFG2;
  __IO uint32_t IER;
  __IO uint32_t SR;
  __IO uint32_t IFCR;
  __IO uint32_t AUTOCR;
  __IO uint32_t TXDR;
  uint32_t RESERVED1[3];
  __IO uint32_t RXDR;
  uint32_t RESERVED2[3];
  __IO uint32_t CRCPOLY;
  __IO uint32_t TXCRC;
  __IO uint32_t RXCRC;
  __IO uint32_t UDRDR;
} SPI_TypeDef;
#endif

/* SPI1, SPI2, SPI3, in that order. Defined in csdk/hal/hal_spi.c. */
#define MVNET_SPI_COUNT 3
extern SPI_TypeDef mvnet_spi[MVNET_SPI_COUNT];

#ifndef SPI1
#define SPI1 (&mvnet_spi[0])
#define SPI2 (&mvnet_spi[1])
#define SPI3 (&mvnet_spi[2])
#endif

/* Register bits (RM0456, SPI registers). */
#ifndef SPI_CR1_SPE
#define SPI_CR1_SPE (0x1UL << 0U)
#define SPI_CR1_MASRX (0x1UL << 8U)
#define SPI_CR1_CSTART (0x1UL << 9U)
#define SPI_CR1_SSI (0x1UL << 12U)
#define SPI_CFG1_DSIZE_Pos (0U)
#define SPI_CFG1_DSIZE (0x1FUL << SPI_CFG1_DSIZE_Pos)
#define SPI_CFG1_FTHLV_Pos (5U)
#define SPI_CFG1_FTHLV (0xFUL << SPI_CFG1_FTHLV_Pos)
#define SPI_CFG1_CRCSIZE_Pos (16U)
#define SPI_CFG1_CRCSIZE (0x1FUL << SPI_CFG1_CRCSIZE_Pos)
#define SPI_CFG1_CRCEN (0x1UL << 22U)
#define SPI_CFG1_MBR_Pos (28U)
#define SPI_CFG1_MBR (0x7UL << SPI_CFG1_MBR_Pos)
#define SPI_CFG1_BPASS (0x1UL << 31U)
#define SPI_CFG2_MSSI (0xFUL << 0U)
#define SPI_CFG2_MIDI (0xFUL << 4U)
#define SPI_CFG2_IOSWP (0x1UL << 15U)
#define SPI_CFG2_COMM_Pos (17U)
#define SPI_CFG2_COMM (0x3UL << SPI_CFG2_COMM_Pos)
#define SPI_CFG2_COMM_0 (0x1UL << 17U)
#define SPI_CFG2_COMM_1 (0x2UL << 17U)
#define SPI_CFG2_SP_0 (0x1UL << 19U)
#define SPI_CFG2_MASTER (0x1UL << 22U)
#define SPI_CFG2_LSBFRST (0x1UL << 23U)
#define SPI_CFG2_CPHA (0x1UL << 24U)
#define SPI_CFG2_CPOL (0x1UL << 25U)
#define SPI_CFG2_SSM (0x1UL << 26U)
#define SPI_CFG2_SSIOP (0x1UL << 28U)
#define SPI_CFG2_SSOE (0x1UL << 29U)
#define SPI_CFG2_SSOM (0x1UL << 30U)
#define SPI_CFG2_AFCNTR (0x1UL << 31U)
#endif

typedef struct {
  uint32_t Mode;              /* SPI_MODE_* */
  uint32_t Direction;         /* SPI_DIRECTION_* */
  uint32_t DataSize;          /* SPI_DATASIZE_* */
  uint32_t CLKPolarity;       /* SPI_POLARITY_* */
  uint32_t CLKPhase;          /* SPI_PHASE_* */
  uint32_t NSS;               /* SPI_NSS_SOFT, SPI_NSS_HARD_INPUT, SPI_NSS_HARD_OUTPUT */
  uint32_t BaudRatePrescaler; /* SPI_BAUDRATEPRESCALER_* */
  uint32_t FirstBit;          /* SPI_FIRSTBIT_* */
  uint32_t TIMode;
  uint32_t CRCCalculation;
  uint32_t CRCPolynomial;
  uint32_t CRCLength;
  uint32_t RxCRCInitializationPattern;
  uint32_t TxCRCInitializationPattern;
  uint32_t NSSPMode;
  uint32_t NSSPolarity;
  uint32_t FifoThreshold;
  uint32_t MasterSSIdleness;
  uint32_t MasterInterDataIdleness;
  uint32_t MasterReceiverAutoSusp;
  uint32_t MasterKeepIOState;
  uint32_t IOSwap;
  uint32_t ReadyMasterManagement;
  uint32_t ReadyPolarity;
} SPI_InitTypeDef;

typedef enum {
  HAL_SPI_STATE_RESET = 0x00UL,
  HAL_SPI_STATE_READY = 0x01UL,
  HAL_SPI_STATE_BUSY = 0x02UL,
  HAL_SPI_STATE_BUSY_TX = 0x03UL,
  HAL_SPI_STATE_BUSY_RX = 0x04UL,
  HAL_SPI_STATE_BUSY_TX_RX = 0x05UL,
  HAL_SPI_STATE_ERROR = 0x06UL,
  HAL_SPI_STATE_ABORT = 0x07UL,
} HAL_SPI_StateTypeDef;

typedef struct __SPI_HandleTypeDef {
  SPI_TypeDef *Instance;
  SPI_InitTypeDef Init;
  const uint8_t *pTxBuffPtr;
  uint16_t TxXferSize;
  __IO uint16_t TxXferCount;
  uint8_t *pRxBuffPtr;
  uint16_t RxXferSize;
  __IO uint16_t RxXferCount;
  uint32_t CRCSize;
  void (*RxISR)(struct __SPI_HandleTypeDef *hspi);
  void (*TxISR)(struct __SPI_HandleTypeDef *hspi);
  void *hdmatx; /* DMA is not emulated: always NULL here */
  void *hdmarx;
  HAL_LockTypeDef Lock;
  __IO HAL_SPI_StateTypeDef State;
  __IO uint32_t ErrorCode;
} SPI_HandleTypeDef;

/* ErrorCode bits. */
#define HAL_SPI_ERROR_NONE (0x00000000UL)
#define HAL_SPI_ERROR_MODF (0x00000001UL)
#define HAL_SPI_ERROR_CRC (0x00000002UL)
#define HAL_SPI_ERROR_OVR (0x00000004UL)
#define HAL_SPI_ERROR_FRE (0x00000008UL)
#define HAL_SPI_ERROR_DMA (0x00000010UL)
#define HAL_SPI_ERROR_FLAG (0x00000020UL)
#define HAL_SPI_ERROR_ABORT (0x00000040UL)
#define HAL_SPI_ERROR_UDR (0x00000080UL)
#define HAL_SPI_ERROR_TIMEOUT (0x00000100UL)
#define HAL_SPI_ERROR_UNKNOW (0x00000200UL)
#define HAL_SPI_ERROR_NOT_SUPPORTED (0x00000400UL)

/* Init field values (the STM32U5 register bit patterns). */
#define SPI_MODE_SLAVE (0x00000000UL)
#define SPI_MODE_MASTER SPI_CFG2_MASTER
#define SPI_DIRECTION_2LINES (0x00000000UL)
#define SPI_DIRECTION_2LINES_TXONLY SPI_CFG2_COMM_0
#define SPI_DIRECTION_2LINES_RXONLY SPI_CFG2_COMM_1
#define SPI_DIRECTION_1LINE SPI_CFG2_COMM
#define SPI_DATASIZE_4BIT (0x00000003UL)
#define SPI_DATASIZE_5BIT (0x00000004UL)
#define SPI_DATASIZE_6BIT (0x00000005UL)
#define SPI_DATASIZE_7BIT (0x00000006UL)
#define SPI_DATASIZE_8BIT (0x00000007UL)
#define SPI_DATASIZE_9BIT (0x00000008UL)
#define SPI_DATASIZE_10BIT (0x00000009UL)
#define SPI_DATASIZE_11BIT (0x0000000AUL)
#define SPI_DATASIZE_12BIT (0x0000000BUL)
#define SPI_DATASIZE_13BIT (0x0000000CUL)
#define SPI_DATASIZE_14BIT (0x0000000DUL)
#define SPI_DATASIZE_15BIT (0x0000000EUL)
#define SPI_DATASIZE_16BIT (0x0000000FUL)
#define SPI_DATASIZE_32BIT (0x0000001FUL)
#define SPI_POLARITY_LOW (0x00000000UL)
#define SPI_POLARITY_HIGH SPI_CFG2_CPOL
#define SPI_PHASE_1EDGE (0x00000000UL)
#define SPI_PHASE_2EDGE SPI_CFG2_CPHA
#define SPI_NSS_SOFT SPI_CFG2_SSM
#define SPI_NSS_HARD_INPUT (0x00000000UL)
#define SPI_NSS_HARD_OUTPUT SPI_CFG2_SSOE
#define SPI_NSS_PULSE_DISABLE (0x00000000UL)
#define SPI_NSS_PULSE_ENABLE SPI_CFG2_SSOM
#define SPI_NSS_POLARITY_LOW (0x00000000UL)
#define SPI_NSS_POLARITY_HIGH SPI_CFG2_SSIOP
#define SPI_BAUDRATEPRESCALER_BYPASS (0x80000000UL)
#define SPI_BAUDRATEPRESCALER_2 (0x00000000UL)
#define SPI_BAUDRATEPRESCALER_4 (0x10000000UL)
#define SPI_BAUDRATEPRESCALER_8 (0x20000000UL)
#define SPI_BAUDRATEPRESCALER_16 (0x30000000UL)
#define SPI_BAUDRATEPRESCALER_32 (0x40000000UL)
#define SPI_BAUDRATEPRESCALER_64 (0x50000000UL)
#define SPI_BAUDRATEPRESCALER_128 (0x60000000UL)
#define SPI_BAUDRATEPRESCALER_256 (0x70000000UL)
#define SPI_FIRSTBIT_MSB (0x00000000UL)
#define SPI_FIRSTBIT_LSB SPI_CFG2_LSBFRST
#define SPI_TIMODE_DISABLE (0x00000000UL)
#define SPI_TIMODE_ENABLE SPI_CFG2_SP_0
#define SPI_CRCCALCULATION_DISABLE (0x00000000UL)
#define SPI_CRCCALCULATION_ENABLE SPI_CFG1_CRCEN
#define SPI_CRC_LENGTH_DATASIZE (0x00000000UL)
#define SPI_CRC_LENGTH_8BIT (0x00070000UL)
#define SPI_CRC_LENGTH_16BIT (0x000F0000UL)
#define SPI_CRC_INITIALIZATION_ALL_ZERO_PATTERN (0x00000000UL)
#define SPI_FIFO_THRESHOLD_01DATA (0x00000000UL)
#define SPI_FIFO_THRESHOLD_02DATA (0x00000020UL)
#define SPI_FIFO_THRESHOLD_04DATA (0x00000060UL)
#define SPI_FIFO_THRESHOLD_08DATA (0x000000E0UL)
#define SPI_MASTER_SS_IDLENESS_00CYCLE (0x00000000UL)
#define SPI_MASTER_INTERDATA_IDLENESS_00CYCLE (0x00000000UL)
#define SPI_MASTER_RX_AUTOSUSP_DISABLE (0x00000000UL)
#define SPI_MASTER_KEEP_IO_STATE_DISABLE (0x00000000UL)
#define SPI_MASTER_KEEP_IO_STATE_ENABLE SPI_CFG2_AFCNTR
#define SPI_IO_SWAP_DISABLE (0x00000000UL)
#define SPI_IO_SWAP_ENABLE SPI_CFG2_IOSWP
#define SPI_RDY_MASTER_MANAGEMENT_INTERNALLY (0x00000000UL)
#define SPI_RDY_POLARITY_HIGH (0x00000000UL)

/* Macros in ST's shapes: expressions, no trailing semicolon of their own. */
#define __HAL_SPI_RESET_HANDLE_STATE(__HANDLE__) ((__HANDLE__)->State = HAL_SPI_STATE_RESET)
#define __HAL_SPI_ENABLE(__HANDLE__) SET_BIT((__HANDLE__)->Instance->CR1, SPI_CR1_SPE)
#define __HAL_SPI_DISABLE(__HANDLE__) CLEAR_BIT((__HANDLE__)->Instance->CR1, SPI_CR1_SPE)

/* Initialises the handle (calls HAL_SPI_MspInit first when State is RESET).
 * HAL_ERROR for a NULL handle or an Instance that is not SPI1…SPI3. */
HAL_StatusTypeDef HAL_SPI_Init(SPI_HandleTypeDef *hspi);
HAL_StatusTypeDef HAL_SPI_DeInit(SPI_HandleTypeDef *hspi);
MVNET_VISIBLE void HAL_SPI_MspInit(SPI_HandleTypeDef *hspi);   /* application hook (optional) */
MVNET_VISIBLE void HAL_SPI_MspDeInit(SPI_HandleTypeDef *hspi); /* application hook (optional) */

/* Blocking transfers of Size frames. HAL_BUSY unless the handle is READY;
 * HAL_ERROR for NULL data or Size 0, or a controller not in
 * SPI_MODE_MASTER (HAL_SPI_ERROR_NOT_SUPPORTED). */
HAL_StatusTypeDef HAL_SPI_Transmit(SPI_HandleTypeDef *hspi, const uint8_t *pData, uint16_t Size, uint32_t Timeout);
HAL_StatusTypeDef HAL_SPI_Receive(SPI_HandleTypeDef *hspi, uint8_t *pData, uint16_t Size, uint32_t Timeout);
HAL_StatusTypeDef HAL_SPI_TransmitReceive(SPI_HandleTypeDef *hspi, const uint8_t *pTxData, uint8_t *pRxData,
                                          uint16_t Size, uint32_t Timeout);

HAL_SPI_StateTypeDef HAL_SPI_GetState(const SPI_HandleTypeDef *hspi);
uint32_t HAL_SPI_GetError(const SPI_HandleTypeDef *hspi);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_STM32U5XX_HAL_SPI_H */
