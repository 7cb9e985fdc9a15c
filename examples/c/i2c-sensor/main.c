/*
 * i2c-sensor: reads an MCP9808 temperature sensor over I2C with ST's HAL
 * calls, as a Microvisor application on a board would, and only once the
 * sensor has answered with the right IDs does its network work: it asks
 * for the network and sends the reading to the cloud's log (mvServerLog).
 *
 * On the host the sensor is a simulated one that a board file places on
 * I2C1 (board.json here):
 *
 *   MVNET_BOARD=board.json ./i2c-sensor        or
 *   mvnet run --board board.json -- ./i2c-sensor
 *
 * Without a board the bus is empty: the sensor does not answer (NACK), the
 * application says so and exits 1 without touching the network.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mv_syscalls.h"
#include "stm32u5xx_hal.h"

#define MCP9808_ADDR 0x18 /* 7-bit; the HAL takes it shifted left */
#define MCP9808_REG_TA 0x05
#define MCP9808_REG_MANUF_ID 0x06
#define MCP9808_REG_DEVICE_ID 0x07

static I2C_HandleTypeDef i2c;
static uint8_t log_buffer[4096] __attribute__((aligned(512)));
static volatile struct MvNotification notifications[8] __attribute__((aligned(8)));

/* Called by HAL_I2C_Init: clocks and pins, as on the board (PB6 SCL, PB9 SDA). */
void HAL_I2C_MspInit(I2C_HandleTypeDef *h) {
  (void)h;
  RCC_PeriphCLKInitTypeDef clk = {0};
  clk.PeriphClockSelection = RCC_PERIPHCLK_I2C1;
  clk.I2c1ClockSelection = RCC_I2C1CLKSOURCE_PCLK1;
  HAL_RCCEx_PeriphCLKConfig(&clk);
  __HAL_RCC_GPIOB_CLK_ENABLE();
  GPIO_InitTypeDef pins = {0};
  pins.Pin = GPIO_PIN_6 | GPIO_PIN_9;
  pins.Mode = GPIO_MODE_AF_OD;
  pins.Pull = GPIO_NOPULL;
  pins.Speed = GPIO_SPEED_FREQ_LOW;
  pins.Alternate = GPIO_AF4_I2C1;
  HAL_GPIO_Init(GPIOB, &pins);
  __HAL_RCC_I2C1_CLK_ENABLE();
}

void TIM8_BRK_IRQHandler(void) {}

static int read_reg(uint8_t reg, uint16_t *value) {
  uint8_t b[2];
  if (HAL_I2C_Mem_Read(&i2c, MCP9808_ADDR << 1, reg, I2C_MEMADD_SIZE_8BIT, b, 2, 100) != HAL_OK) {
    return 0;
  }
  *value = (uint16_t)(b[0] << 8 | b[1]);
  return 1;
}

/* T_A: 13-bit two's complement in 1/16 °C; bits 15:13 are alert flags. */
static double celsius(uint16_t ta) {
  double c = (ta & 0x0FFF) / 16.0;
  return (ta & 0x1000) ? c - 256.0 : c;
}

static int network_log(const char *line) {
  if (mvServerLoggingInit(log_buffer, sizeof log_buffer) != MV_STATUS_OKAY) {
    return 0;
  }
  struct MvNotificationSetup setup = {
      .irq = TIM8_BRK_IRQn, .buffer = (struct MvNotification *)notifications, .buffer_size = sizeof notifications};
  MvNotificationHandle centre = 0;
  if (mvSetupNotifications(&setup, &centre) != MV_STATUS_OKAY) {
    return 0;
  }
  struct MvRequestNetworkParams params = {.version = 1, .v1 = {.notification_handle = centre, .notification_tag = 1}};
  MvNetworkHandle net = 0;
  if (mvRequestNetwork(&params, &net) != MV_STATUS_OKAY) {
    return 0;
  }
  enum MvNetworkStatus status = MV_NETWORKSTATUS_DELIBERATELYOFFLINE;
  for (int i = 0; i < 2000 && status != MV_NETWORKSTATUS_CONNECTED; i++) {
    if (mvGetNetworkStatus(net, &status) != MV_STATUS_OKAY) {
      return 0;
    }
    HAL_Delay(5);
  }
  if (status != MV_NETWORKSTATUS_CONNECTED) {
    return 0;
  }
  printf("network connected\n");
  return mvServerLog((const uint8_t *)line, (uint16_t)strlen(line)) == MV_STATUS_OKAY;
}

int main(void) {
  HAL_Init();

  i2c.Instance = I2C1;
  i2c.Init.Timing = 0x00C01F67;
  i2c.Init.AddressingMode = I2C_ADDRESSINGMODE_7BIT;
  i2c.Init.DualAddressMode = I2C_DUALADDRESS_DISABLE;
  i2c.Init.OwnAddress2Masks = I2C_OA2_NOMASK;
  i2c.Init.GeneralCallMode = I2C_GENERALCALL_DISABLE;
  i2c.Init.NoStretchMode = I2C_NOSTRETCH_DISABLE;
  if (HAL_I2C_Init(&i2c) != HAL_OK) {
    printf("I2C init failed\n");
    return 1;
  }

  HAL_StatusTypeDef st = HAL_I2C_IsDeviceReady(&i2c, MCP9808_ADDR << 1, 3, 100);
  if (st != HAL_OK) {
    printf("sensor absent: HAL_I2C_IsDeviceReady -> %d, error 0x%02lx\n", (int)st,
           (unsigned long)HAL_I2C_GetError(&i2c));
    return 1;
  }
  uint16_t manuf = 0, device = 0, ta = 0;
  if (!read_reg(MCP9808_REG_MANUF_ID, &manuf) || !read_reg(MCP9808_REG_DEVICE_ID, &device)) {
    printf("sensor read failed: error 0x%02lx\n", (unsigned long)HAL_I2C_GetError(&i2c));
    return 1;
  }
  printf("manufacturer 0x%04x, device 0x%04x\n", manuf, device);
  if (manuf != 0x0054 || (device >> 8) != 0x04) {
    printf("not an MCP9808\n");
    return 1;
  }
  if (!read_reg(MCP9808_REG_TA, &ta)) {
    printf("temperature read failed\n");
    return 1;
  }

  char line[64];
  snprintf(line, sizeof line, "temperature %.2f C", celsius(ta));
  printf("%s\n", line);
  if (!network_log(line)) {
    printf("network work failed\n");
    return mvTestingComplete(1);
  }
  printf("logged\n");
  return mvTestingComplete(0);
}
