/*
 * mv-sensor-demo: reads an MCP9808 temperature sensor on I2C1, blinks the
 * LED on PA5, logs over USART2 and to the Microvisor cloud, and posts the
 * reading to API_URL over Microvisor's HTTP calls.
 */
#ifndef MAIN_H
#define MAIN_H

/* As in the public samples, this header relies on what the toolchain's
 * <stdio.h> declares (uint8_t, bool …) and on the HAL. */
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "stm32u5xx_hal.h"
#include "cmsis_os.h"
#include "mv_syscalls.h"

#define LED_PIN GPIO_PIN_5
#define LED_PORT GPIOA

#define MCP9808_ADDR 0x18

/* logging.c */
void log_init(void);
void server_log(const char *fmt, ...);

/* mcp9808.c */
bool mcp9808_init(I2C_HandleTypeDef *i2c);
bool mcp9808_read(I2C_HandleTypeDef *i2c, float *celsius);

/* network.c */
void network_task(void *argument);

extern I2C_HandleTypeDef hi2c1;
extern UART_HandleTypeDef huart2;
extern volatile float last_celsius;

void Error_Handler(void);

#endif
