/*
 * Built with -fvisibility=hidden: the functions and data libmvnet calls or
 * looks up by name — a handler, the HAL's hooks, SECURE_SystemCoreClockUpdate
 * — stay visible to libmvnet.so through the headers' declarations.
 * Prints "failures=N"; exits N.
 */
#include <stdio.h>

#include "mv_syscalls.h"
#include "mvnet.h"
#include "stm32u5xx_hal.h"

static volatile struct MvNotification ring[8] __attribute__((aligned(8)));
static volatile int handler_calls, msp_calls, uart_msp_calls;

void TIM8_BRK_IRQHandler(void) {
	handler_calls++;
}

void HAL_MspInit(void) {
	msp_calls++;
}

void HAL_UART_MspInit(UART_HandleTypeDef *huart) {
	(void)huart;
	uart_msp_calls++;
}

uint32_t SECURE_SystemCoreClockUpdate(void) {
	return 1234U;
}

int main(void) {
	int failures = 0;
#define CHECK(cond)                                  \
	do {                                             \
		if (!(cond)) {                               \
			printf("FAIL: %s\n", #cond);             \
			failures++;                              \
		}                                            \
	} while (0)

	CHECK(HAL_Init() == HAL_OK);
	CHECK(msp_calls == 1);
	UART_HandleTypeDef uart = {0};
	uart.Instance = USART2;
	uart.Init.BaudRate = 115200;
	uart.Init.WordLength = UART_WORDLENGTH_8B;
	uart.Init.StopBits = UART_STOPBITS_1;
	uart.Init.Parity = UART_PARITY_NONE;
	uart.Init.Mode = UART_MODE_TX;
	CHECK(HAL_UART_Init(&uart) == HAL_OK);
	CHECK(uart_msp_calls == 1);
	SystemCoreClockUpdate(); /* libmvnet's, calling ours */
	CHECK(SystemCoreClock == 1234U);
	CHECK(HAL_RCC_GetHCLKFreq() == 1234U);

	struct MvNotificationSetup setup = {.irq = TIM8_BRK_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof ring};
	MvNotificationHandle h = 0;
	CHECK(mvSetupNotifications(&setup, &h) == MV_STATUS_OKAY);
	NVIC_EnableIRQ(TIM8_BRK_IRQn);
	CHECK(mvTempTriggerNotification(h, MV_EVENTTYPE_CHANNELDATAREADABLE, 1) == MV_STATUS_OKAY);
	CHECK(mvnet_irq_wait_idle(5000) == 1);
	CHECK(handler_calls == 1);
	printf("failures=%d\n", failures);
	return failures;
}
