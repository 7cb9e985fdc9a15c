/* periph_i2c.c: the I2C HAL against the simulated buses (periph_hal_test.go).
 * Prints one line per step; the test compares them. */
#include <stdio.h>
#include <string.h>

#include "stm32u5xx_hal.h"

static I2C_HandleTypeDef hi2c;
static int msp_inits;

void HAL_I2C_MspInit(I2C_HandleTypeDef *h) {
  (void)h;
  msp_inits++;
}

static void init(I2C_TypeDef *instance) {
  memset(&hi2c, 0, sizeof hi2c);
  hi2c.Instance = instance;
  hi2c.Init.Timing = 0x00C01F67;
  hi2c.Init.AddressingMode = I2C_ADDRESSINGMODE_7BIT;
  hi2c.Init.DualAddressMode = I2C_DUALADDRESS_DISABLE;
  hi2c.Init.OwnAddress2Masks = I2C_OA2_NOMASK;
  hi2c.Init.GeneralCallMode = I2C_GENERALCALL_DISABLE;
  hi2c.Init.NoStretchMode = I2C_NOSTRETCH_DISABLE;
  HAL_StatusTypeDef st = HAL_I2C_Init(&hi2c);
  printf("init %d msp %d state 0x%02x\n", st, msp_inits, (unsigned)HAL_I2C_GetState(&hi2c));
}

int main(void) {
  uint8_t buf[2] = {0xEE, 0xEE};

  /* Before HAL_I2C_Init the handle is not READY: ST's HAL says HAL_BUSY. */
  hi2c.Instance = I2C1;
  printf("uninit %d\n", HAL_I2C_Master_Transmit(&hi2c, 0x18 << 1, buf, 1, 100));

  init(I2C1);
  HAL_StatusTypeDef st, st1, st2;
  st1 = HAL_I2CEx_ConfigAnalogFilter(&hi2c, I2C_ANALOGFILTER_ENABLE);
  st2 = HAL_I2CEx_ConfigDigitalFilter(&hi2c, 0);
  st = HAL_I2CEx_ConfigDigitalFilter(&hi2c, 16);
  printf("filters %d %d %d\n", st1, st2, st);

  st = HAL_I2C_IsDeviceReady(&hi2c, 0x18 << 1, 3, 100);
  printf("ready %d err 0x%02x\n", st, (unsigned)HAL_I2C_GetError(&hi2c));

  memset(buf, 0xEE, sizeof buf);
  st = HAL_I2C_Mem_Read(&hi2c, 0x18 << 1, 0x06, I2C_MEMADD_SIZE_8BIT, buf, 2, 100);
  printf("manuf %d %02x%02x err 0x%02x\n", st, buf[0], buf[1], (unsigned)HAL_I2C_GetError(&hi2c));

  memset(buf, 0xEE, sizeof buf);
  uint8_t reg = 0x07;
  st1 = HAL_I2C_Master_Transmit(&hi2c, 0x18 << 1, &reg, 1, 100);
  st2 = HAL_I2C_Master_Receive(&hi2c, 0x18 << 1, buf, 2, 100);
  printf("device %d %d %02x%02x\n", st1, st2, buf[0], buf[1]);

  /* 0.5 °C resolution, then T_A. */
  uint8_t res = 0x00;
  st = HAL_I2C_Mem_Write(&hi2c, 0x18 << 1, 0x08, I2C_MEMADD_SIZE_8BIT, &res, 1, 100);
  memset(buf, 0xEE, sizeof buf);
  st2 = HAL_I2C_Mem_Read(&hi2c, 0x18 << 1, 0x05, I2C_MEMADD_SIZE_8BIT, buf, 2, 100);
  unsigned raw = (unsigned)(buf[0] << 8 | buf[1]);
  double c = (raw & 0x0FFF) / 16.0;
  if (raw & 0x1000) {
    c -= 256.0;
  }
  printf("temp %d %d %.4f\n", st, st2, c);

  /* The classic mistake: an address not shifted left. */
  st = HAL_I2C_Master_Transmit(&hi2c, 0x18, &reg, 1, 100);
  printf("unshifted %d err 0x%02x state 0x%02x\n", st, (unsigned)HAL_I2C_GetError(&hi2c),
         (unsigned)HAL_I2C_GetState(&hi2c));

  /* Mem_* without data is refused before the bus. */
  st = HAL_I2C_Mem_Read(&hi2c, 0x18 << 1, 5, I2C_MEMADD_SIZE_8BIT, buf, 0, 100);
  printf("nodata %d err 0x%03x\n", st, (unsigned)HAL_I2C_GetError(&hi2c));

  /* I2C2 holds nothing: everything NACKs. */
  st = HAL_I2C_DeInit(&hi2c);
  printf("deinit %d state 0x%02x\n", st, (unsigned)HAL_I2C_GetState(&hi2c));
  init(I2C2);
  st = HAL_I2C_IsDeviceReady(&hi2c, 0x18 << 1, 2, 10);
  printf("empty ready %d err 0x%02x\n", st, (unsigned)HAL_I2C_GetError(&hi2c));
  memset(buf, 0xEE, sizeof buf);
  st = HAL_I2C_Mem_Read(&hi2c, 0x18 << 1, 0x05, I2C_MEMADD_SIZE_8BIT, buf, 2, 100);
  printf("empty read %d err 0x%02x buf %02x%02x state 0x%02x\n", st, (unsigned)HAL_I2C_GetError(&hi2c), buf[0],
         buf[1], (unsigned)HAL_I2C_GetState(&hi2c));

  /* I2C3 holds an HT16K33: its display state shows in the trace. */
  init(I2C3);
  uint8_t on[] = {0x21}, disp[] = {0x81}, frame[17] = {0x00, 0x3F, 0x00, 0x06};
  st = HAL_I2C_Master_Transmit(&hi2c, 0x70 << 1, on, 1, 100);
  st1 = HAL_I2C_Master_Transmit(&hi2c, 0x70 << 1, disp, 1, 100);
  st2 = HAL_I2C_Master_Transmit(&hi2c, 0x70 << 1, frame, sizeof frame, 100);
  printf("display %d %d %d\n", st, st1, st2);
  return 0;
}
