/*
 * stm32u5xx_hal_i2c.h — mvnet host stand-in: I2C (controller mode).
 *
 * An I2C handle works as in ST's HAL (hi2c.Instance = I2C1;
 * hi2c.Init.Timing = …; HAL_I2C_Init(&hi2c); HAL_I2C_Mem_Read(&hi2c,
 * 0x18 << 1, 0x05, I2C_MEMADD_SIZE_8BIT, buf, 2, 100); …). On the host each
 * transfer is one transaction on the simulated bus of the same name: the
 * devices the board file (MVNET_BOARD, docs/peripherals.md) places there
 * answer it; an address with no device NACKs, as on hardware, and the call
 * returns HAL_ERROR with HAL_I2C_ERROR_AF in ErrorCode (HAL_I2C_IsDeviceReady:
 * HAL_ERROR with HAL_I2C_ERROR_TIMEOUT once its Trials are spent). Addresses
 * are given shifted left by one, as in ST's HAL (7-bit mode). Every
 * transaction is one trace event (kind "i2c").
 *
 * The interrupt variants (Master_Transmit_IT, Master_Receive_IT,
 * Mem_Write_IT, Mem_Read_IT) complete through the instance's event
 * interrupt: the application's I2Cn_EV_IRQHandler calls
 * HAL_I2C_EV_IRQHandler, which calls the completion or error callback.
 *
 * Not emulated: timing (Init.Timing, filters and Timeout are stored, not
 * acted on: transfers complete at once), 10-bit addressing (NACKs), target
 * (slave) mode, DMA, SMBus, the sequential (…_Seq_…) transfers.
 */
#ifndef MVNET_STM32U5XX_HAL_I2C_H
#define MVNET_STM32U5XX_HAL_I2C_H

#include "stm32u5xx_hal_def.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MVNET_HAVE_I2C_TYPEDEF
#define MVNET_HAVE_I2C_TYPEDEF
/* One I2C peripheral: the STM32U5 register block's layout (RM0456), in host
 * memory. */
typedef struct {
  __IO uint32_t CR1;
  __IO uint32_t CR2;
  __IO uint32_t OAR1;
  __IO uint32_t OAR2;
  __IO uint32_t TIMINGR;
  __IO uint32_t TIMEOUTR;
  __IO uint32_t ISR;
  __IO uint32_t ICR;
  __IO uint32_t PECR;
  __IO uint32_t RXDR;
  __IO uint32_t TXDR;
  __IO uint32_t AUTOCR;
} I2C_TypeDef;
#endif

/* I2C1, I2C2, I2C3, I2C4, in that order. Defined in csdk/hal/hal_i2c.c. */
#define MVNET_I2C_COUNT 4
extern I2C_TypeDef mvnet_i2c[MVNET_I2C_COUNT];

#ifndef I2C1
#define I2C1 (&mvnet_i2c[0])
#define I2C2 (&mvnet_i2c[1])
#define I2C3 (&mvnet_i2c[2])
#define I2C4 (&mvnet_i2c[3])
#endif

/* Register bits (RM0456, I2C registers). */
#ifndef I2C_CR1_PE
#define I2C_CR1_PE_Pos (0U)
#define I2C_CR1_PE (0x1UL << I2C_CR1_PE_Pos)
#define I2C_CR1_TXIE (0x1UL << 1U)
#define I2C_CR1_RXIE (0x1UL << 2U)
#define I2C_CR1_ADDRIE (0x1UL << 3U)
#define I2C_CR1_NACKIE (0x1UL << 4U)
#define I2C_CR1_STOPIE (0x1UL << 5U)
#define I2C_CR1_TCIE (0x1UL << 6U)
#define I2C_CR1_ERRIE (0x1UL << 7U)
#define I2C_CR1_DNF_Pos (8U)
#define I2C_CR1_DNF_Msk (0xFUL << I2C_CR1_DNF_Pos)
#define I2C_CR1_DNF I2C_CR1_DNF_Msk
#define I2C_CR1_ANFOFF (0x1UL << 12U)
#define I2C_CR1_TXDMAEN (0x1UL << 14U)
#define I2C_CR1_RXDMAEN (0x1UL << 15U)
#define I2C_CR1_SBC (0x1UL << 16U)
#define I2C_CR1_NOSTRETCH (0x1UL << 17U)
#define I2C_CR1_WUPEN (0x1UL << 18U)
#define I2C_CR1_GCEN (0x1UL << 19U)
#define I2C_CR1_SMBHEN (0x1UL << 20U)
#define I2C_CR1_SMBDEN (0x1UL << 21U)
#define I2C_CR1_ALERTEN (0x1UL << 22U)
#define I2C_CR1_PECEN (0x1UL << 23U)
#define I2C_CR1_FMP (0x1UL << 24U)
#define I2C_CR2_SADD_Pos (0U)
#define I2C_CR2_SADD (0x3FFUL << I2C_CR2_SADD_Pos)
#define I2C_CR2_RD_WRN (0x1UL << 10U)
#define I2C_CR2_ADD10 (0x1UL << 11U)
#define I2C_CR2_HEAD10R (0x1UL << 12U)
#define I2C_CR2_START (0x1UL << 13U)
#define I2C_CR2_STOP (0x1UL << 14U)
#define I2C_CR2_NACK (0x1UL << 15U)
#define I2C_CR2_NBYTES_Pos (16U)
#define I2C_CR2_NBYTES (0xFFUL << I2C_CR2_NBYTES_Pos)
#define I2C_CR2_RELOAD (0x1UL << 24U)
#define I2C_CR2_AUTOEND (0x1UL << 25U)
#define I2C_CR2_PECBYTE (0x1UL << 26U)
#define I2C_OAR1_OA1 (0x3FFUL)
#define I2C_OAR1_OA1MODE (0x1UL << 10U)
#define I2C_OAR1_OA1EN (0x1UL << 15U)
#define I2C_OAR2_OA2 (0xFEUL)
#define I2C_OAR2_OA2MSK (0x7UL << 8U)
#define I2C_OAR2_OA2EN (0x1UL << 15U)
#define I2C_TIMINGR_SCLL_Pos (0U)
#define I2C_TIMINGR_SCLL_Msk (0xFFUL << I2C_TIMINGR_SCLL_Pos)
#define I2C_TIMINGR_SCLL I2C_TIMINGR_SCLL_Msk
#define I2C_TIMINGR_SCLH_Pos (8U)
#define I2C_TIMINGR_SCLH_Msk (0xFFUL << I2C_TIMINGR_SCLH_Pos)
#define I2C_TIMINGR_SCLH I2C_TIMINGR_SCLH_Msk
#define I2C_TIMINGR_SDADEL_Pos (16U)
#define I2C_TIMINGR_SDADEL_Msk (0xFUL << I2C_TIMINGR_SDADEL_Pos)
#define I2C_TIMINGR_SDADEL I2C_TIMINGR_SDADEL_Msk
#define I2C_TIMINGR_SCLDEL_Pos (20U)
#define I2C_TIMINGR_SCLDEL_Msk (0xFUL << I2C_TIMINGR_SCLDEL_Pos)
#define I2C_TIMINGR_SCLDEL I2C_TIMINGR_SCLDEL_Msk
#define I2C_TIMINGR_PRESC_Pos (28U)
#define I2C_TIMINGR_PRESC_Msk (0xFUL << I2C_TIMINGR_PRESC_Pos)
#define I2C_TIMINGR_PRESC I2C_TIMINGR_PRESC_Msk
#define I2C_ISR_TXE (0x1UL << 0U)
#define I2C_ISR_TXIS (0x1UL << 1U)
#define I2C_ISR_RXNE (0x1UL << 2U)
#define I2C_ISR_ADDR (0x1UL << 3U)
#define I2C_ISR_NACKF (0x1UL << 4U)
#define I2C_ISR_STOPF (0x1UL << 5U)
#define I2C_ISR_TC (0x1UL << 6U)
#define I2C_ISR_TCR (0x1UL << 7U)
#define I2C_ISR_BERR (0x1UL << 8U)
#define I2C_ISR_ARLO (0x1UL << 9U)
#define I2C_ISR_OVR (0x1UL << 10U)
#define I2C_ISR_PECERR (0x1UL << 11U)
#define I2C_ISR_TIMEOUT (0x1UL << 12U)
#define I2C_ISR_ALERT (0x1UL << 13U)
#define I2C_ISR_BUSY (0x1UL << 15U)
#define I2C_ISR_DIR (0x1UL << 16U)
#endif

typedef struct {
  uint32_t Timing;           /* I2C_TIMINGR value */
  uint32_t OwnAddress1;
  uint32_t AddressingMode;   /* I2C_ADDRESSINGMODE_* */
  uint32_t DualAddressMode;  /* I2C_DUALADDRESS_* */
  uint32_t OwnAddress2;
  uint32_t OwnAddress2Masks; /* I2C_OA2_* */
  uint32_t GeneralCallMode;  /* I2C_GENERALCALL_* */
  uint32_t NoStretchMode;    /* I2C_NOSTRETCH_* */
} I2C_InitTypeDef;

typedef enum {
  HAL_I2C_STATE_RESET = 0x00U,
  HAL_I2C_STATE_READY = 0x20U,
  HAL_I2C_STATE_BUSY = 0x24U,
  HAL_I2C_STATE_BUSY_TX = 0x21U,
  HAL_I2C_STATE_BUSY_RX = 0x22U,
  HAL_I2C_STATE_LISTEN = 0x28U,
  HAL_I2C_STATE_BUSY_TX_LISTEN = 0x29U,
  HAL_I2C_STATE_BUSY_RX_LISTEN = 0x2AU,
  HAL_I2C_STATE_ABORT = 0x60U,
} HAL_I2C_StateTypeDef;

typedef enum {
  HAL_I2C_MODE_NONE = 0x00U,
  HAL_I2C_MODE_MASTER = 0x10U,
  HAL_I2C_MODE_SLAVE = 0x20U,
  HAL_I2C_MODE_MEM = 0x40U,
} HAL_I2C_ModeTypeDef;

/* ErrorCode bits. */
#define HAL_I2C_ERROR_NONE (0x00000000U)
#define HAL_I2C_ERROR_BERR (0x00000001U)
#define HAL_I2C_ERROR_ARLO (0x00000002U)
#define HAL_I2C_ERROR_AF (0x00000004U)
#define HAL_I2C_ERROR_OVR (0x00000008U)
#define HAL_I2C_ERROR_DMA (0x00000010U)
#define HAL_I2C_ERROR_TIMEOUT (0x00000020U)
#define HAL_I2C_ERROR_SIZE (0x00000040U)
#define HAL_I2C_ERROR_DMA_PARAM (0x00000080U)
#define HAL_I2C_ERROR_INVALID_PARAM (0x00000200U)

typedef struct __I2C_HandleTypeDef {
  I2C_TypeDef *Instance;
  I2C_InitTypeDef Init;
  uint8_t *pBuffPtr;
  uint16_t XferSize;
  __IO uint16_t XferCount;
  __IO uint32_t XferOptions;
  __IO uint32_t PreviousState;
  HAL_StatusTypeDef (*XferISR)(struct __I2C_HandleTypeDef *hi2c, uint32_t ITFlags, uint32_t ITSources);
  void *hdmatx; /* DMA is not emulated: always NULL here */
  void *hdmarx;
  HAL_LockTypeDef Lock;
  __IO HAL_I2C_StateTypeDef State;
  __IO HAL_I2C_ModeTypeDef Mode;
  __IO uint32_t ErrorCode;
  __IO uint32_t AddrEventCount;
  __IO uint32_t Devaddress;
  __IO uint32_t Memaddress;
} I2C_HandleTypeDef;

/* Init field values (the STM32U5 register bit patterns). */
#define I2C_ADDRESSINGMODE_7BIT (0x00000001U)
#define I2C_ADDRESSINGMODE_10BIT (0x00000002U)
#define I2C_DUALADDRESS_DISABLE (0x00000000U)
#define I2C_DUALADDRESS_ENABLE I2C_OAR2_OA2EN
#define I2C_OA2_NOMASK ((uint8_t)0x00U)
#define I2C_OA2_MASK01 ((uint8_t)0x01U)
#define I2C_OA2_MASK02 ((uint8_t)0x02U)
#define I2C_OA2_MASK03 ((uint8_t)0x03U)
#define I2C_OA2_MASK04 ((uint8_t)0x04U)
#define I2C_OA2_MASK05 ((uint8_t)0x05U)
#define I2C_OA2_MASK06 ((uint8_t)0x06U)
#define I2C_OA2_MASK07 ((uint8_t)0x07U)
#define I2C_GENERALCALL_DISABLE (0x00000000U)
#define I2C_GENERALCALL_ENABLE I2C_CR1_GCEN
#define I2C_NOSTRETCH_DISABLE (0x00000000U)
#define I2C_NOSTRETCH_ENABLE I2C_CR1_NOSTRETCH
#define I2C_MEMADD_SIZE_8BIT (0x00000001U)
#define I2C_MEMADD_SIZE_16BIT (0x00000002U)
#define I2C_DIRECTION_TRANSMIT (0x00000000U)
#define I2C_DIRECTION_RECEIVE (0x00000001U)
#define I2C_RELOAD_MODE I2C_CR2_RELOAD
#define I2C_AUTOEND_MODE I2C_CR2_AUTOEND
#define I2C_SOFTEND_MODE (0x00000000U)
#define I2C_NO_STARTSTOP (0x00000000U)
#define I2C_GENERATE_STOP (uint32_t)(0x80000000U | I2C_CR2_STOP)
#define I2C_GENERATE_START_READ (uint32_t)(0x80000000U | I2C_CR2_START | I2C_CR2_RD_WRN)
#define I2C_GENERATE_START_WRITE (uint32_t)(0x80000000U | I2C_CR2_START)
#define I2C_FIRST_FRAME ((uint32_t)I2C_SOFTEND_MODE)
#define I2C_FIRST_AND_NEXT_FRAME ((uint32_t)(I2C_RELOAD_MODE | I2C_SOFTEND_MODE))
#define I2C_NEXT_FRAME ((uint32_t)(I2C_RELOAD_MODE | I2C_SOFTEND_MODE))
#define I2C_FIRST_AND_LAST_FRAME ((uint32_t)I2C_AUTOEND_MODE)
#define I2C_LAST_FRAME ((uint32_t)I2C_AUTOEND_MODE)
#define I2C_LAST_FRAME_NO_STOP ((uint32_t)I2C_SOFTEND_MODE)
#define I2C_OTHER_FRAME (0x000000AAU)
#define I2C_OTHER_AND_LAST_FRAME (0x0000AA00U)
#define I2C_ANALOGFILTER_ENABLE (0x00000000U)
#define I2C_ANALOGFILTER_DISABLE I2C_CR1_ANFOFF

#define I2C_IT_ERRI I2C_CR1_ERRIE
#define I2C_IT_TCI I2C_CR1_TCIE
#define I2C_IT_STOPI I2C_CR1_STOPIE
#define I2C_IT_NACKI I2C_CR1_NACKIE
#define I2C_IT_ADDRI I2C_CR1_ADDRIE
#define I2C_IT_RXI I2C_CR1_RXIE
#define I2C_IT_TXI I2C_CR1_TXIE

#define I2C_FLAG_TXE I2C_ISR_TXE
#define I2C_FLAG_TXIS I2C_ISR_TXIS
#define I2C_FLAG_RXNE I2C_ISR_RXNE
#define I2C_FLAG_ADDR I2C_ISR_ADDR
#define I2C_FLAG_AF I2C_ISR_NACKF
#define I2C_FLAG_STOPF I2C_ISR_STOPF
#define I2C_FLAG_TC I2C_ISR_TC
#define I2C_FLAG_TCR I2C_ISR_TCR
#define I2C_FLAG_BERR I2C_ISR_BERR
#define I2C_FLAG_ARLO I2C_ISR_ARLO
#define I2C_FLAG_OVR I2C_ISR_OVR
#define I2C_FLAG_PECERR I2C_ISR_PECERR
#define I2C_FLAG_TIMEOUT I2C_ISR_TIMEOUT
#define I2C_FLAG_ALERT I2C_ISR_ALERT
#define I2C_FLAG_BUSY I2C_ISR_BUSY
#define I2C_FLAG_DIR I2C_ISR_DIR
#define I2C_FLAG_MASK (0x0001FFFFU)

/* Macros in ST's shapes: expressions, no trailing semicolon of their own. */
#define __HAL_I2C_RESET_HANDLE_STATE(__HANDLE__) ((__HANDLE__)->State = HAL_I2C_STATE_RESET)
#define __HAL_I2C_ENABLE_IT(__HANDLE__, __INTERRUPT__) ((__HANDLE__)->Instance->CR1 |= (__INTERRUPT__))
#define __HAL_I2C_DISABLE_IT(__HANDLE__, __INTERRUPT__) ((__HANDLE__)->Instance->CR1 &= (~(__INTERRUPT__)))
#define __HAL_I2C_GET_IT_SOURCE(__HANDLE__, __INTERRUPT__) \
  ((((__HANDLE__)->Instance->CR1 & (__INTERRUPT__)) == (__INTERRUPT__)) ? SET : RESET)
#define __HAL_I2C_GET_FLAG(__HANDLE__, __FLAG__) \
  (((((__HANDLE__)->Instance->ISR) & (__FLAG__)) == (__FLAG__)) ? SET : RESET)
#define __HAL_I2C_CLEAR_FLAG(__HANDLE__, __FLAG__) \
  (((__FLAG__) == I2C_FLAG_TXE) ? ((__HANDLE__)->Instance->ISR |= (__FLAG__)) \
                                : ((__HANDLE__)->Instance->ICR = (__FLAG__)))
#define __HAL_I2C_ENABLE(__HANDLE__) (SET_BIT((__HANDLE__)->Instance->CR1, I2C_CR1_PE))
#define __HAL_I2C_DISABLE(__HANDLE__) (CLEAR_BIT((__HANDLE__)->Instance->CR1, I2C_CR1_PE))
#define __HAL_I2C_GENERATE_NACK(__HANDLE__) (SET_BIT((__HANDLE__)->Instance->CR2, I2C_CR2_NACK))

/* Initialises the handle (calls HAL_I2C_MspInit first when State is RESET,
 * as ST's HAL does). HAL_ERROR for a NULL handle or an Instance that is not
 * I2C1…I2C4. */
HAL_StatusTypeDef HAL_I2C_Init(I2C_HandleTypeDef *hi2c);
HAL_StatusTypeDef HAL_I2C_DeInit(I2C_HandleTypeDef *hi2c);
MVNET_VISIBLE void HAL_I2C_MspInit(I2C_HandleTypeDef *hi2c);   /* application hook (optional) */
MVNET_VISIBLE void HAL_I2C_MspDeInit(I2C_HandleTypeDef *hi2c); /* application hook (optional) */

/* Blocking transfers. HAL_BUSY before HAL_I2C_Init or while the handle is
 * in use; HAL_ERROR with HAL_I2C_ERROR_AF when the device NACKs (absent
 * address included); HAL_ERROR with HAL_I2C_ERROR_INVALID_PARAM for Mem_*
 * with no data. */
HAL_StatusTypeDef HAL_I2C_Master_Transmit(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint8_t *pData,
                                          uint16_t Size, uint32_t Timeout);
HAL_StatusTypeDef HAL_I2C_Master_Receive(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint8_t *pData,
                                         uint16_t Size, uint32_t Timeout);
HAL_StatusTypeDef HAL_I2C_Mem_Write(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint16_t MemAddress,
                                    uint16_t MemAddSize, uint8_t *pData, uint16_t Size, uint32_t Timeout);
HAL_StatusTypeDef HAL_I2C_Mem_Read(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint16_t MemAddress,
                                   uint16_t MemAddSize, uint8_t *pData, uint16_t Size, uint32_t Timeout);
/* Probes the address up to Trials times: HAL_OK at the first ACK, else
 * HAL_ERROR with HAL_I2C_ERROR_TIMEOUT. */
HAL_StatusTypeDef HAL_I2C_IsDeviceReady(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint32_t Trials,
                                        uint32_t Timeout);

/* Interrupt transfers: HAL_OK once started (a NACK then arrives as
 * HAL_I2C_ErrorCallback with HAL_I2C_ERROR_AF), HAL_BUSY as above. */
HAL_StatusTypeDef HAL_I2C_Master_Transmit_IT(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint8_t *pData,
                                             uint16_t Size);
HAL_StatusTypeDef HAL_I2C_Master_Receive_IT(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint8_t *pData,
                                            uint16_t Size);
HAL_StatusTypeDef HAL_I2C_Mem_Write_IT(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint16_t MemAddress,
                                       uint16_t MemAddSize, uint8_t *pData, uint16_t Size);
HAL_StatusTypeDef HAL_I2C_Mem_Read_IT(I2C_HandleTypeDef *hi2c, uint16_t DevAddress, uint16_t MemAddress,
                                      uint16_t MemAddSize, uint8_t *pData, uint16_t Size);
void HAL_I2C_EV_IRQHandler(I2C_HandleTypeDef *hi2c);
void HAL_I2C_ER_IRQHandler(I2C_HandleTypeDef *hi2c);
MVNET_VISIBLE void HAL_I2C_MasterTxCpltCallback(I2C_HandleTypeDef *hi2c); /* application hooks (optional) */
MVNET_VISIBLE void HAL_I2C_MasterRxCpltCallback(I2C_HandleTypeDef *hi2c);
MVNET_VISIBLE void HAL_I2C_MemTxCpltCallback(I2C_HandleTypeDef *hi2c);
MVNET_VISIBLE void HAL_I2C_MemRxCpltCallback(I2C_HandleTypeDef *hi2c);
MVNET_VISIBLE void HAL_I2C_ErrorCallback(I2C_HandleTypeDef *hi2c);

HAL_I2C_StateTypeDef HAL_I2C_GetState(const I2C_HandleTypeDef *hi2c);
HAL_I2C_ModeTypeDef HAL_I2C_GetMode(const I2C_HandleTypeDef *hi2c);
uint32_t HAL_I2C_GetError(const I2C_HandleTypeDef *hi2c);

/* Extended: filters are stored in CR1, not simulated. HAL_BUSY unless the
 * handle is READY; HAL_I2CEx_ConfigDigitalFilter takes 0…15. */
HAL_StatusTypeDef HAL_I2CEx_ConfigAnalogFilter(I2C_HandleTypeDef *hi2c, uint32_t AnalogFilter);
HAL_StatusTypeDef HAL_I2CEx_ConfigDigitalFilter(I2C_HandleTypeDef *hi2c, uint32_t DigitalFilter);

#ifdef __cplusplus
}
#endif

#endif /* MVNET_STM32U5XX_HAL_I2C_H */
