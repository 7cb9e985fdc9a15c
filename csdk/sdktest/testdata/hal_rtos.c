/*
 * The HAL and CMSIS-RTOS2 stand-ins inside libmvnet: GPIO writes reach the
 * trace through libmvnet's mvnet_trace_event, and the RTOS knows a handler
 * runs in an ISR through libmvnet's mvnet_in_isr (a queue put from a
 * handler succeeds with timeout 0 and is refused with a timeout), which
 * returns the handler's exception number there (IRQn + 16, like the IPSR).
 */
#include <stdio.h>

#include "cmsis_os2.h"
#include "mvnet.h"
#include "stm32u5xx_hal.h"

int mvnet_in_isr(void);

static osMessageQueueId_t q;
static volatile int isr_flag = -1;
static volatile osStatus_t put0 = osError, put10 = osError;

void TIM2_IRQHandler(void) {
	isr_flag = mvnet_in_isr();
	uint32_t v = 42;
	put0 = osMessageQueuePut(q, &v, 0, 0);
	put10 = osMessageQueuePut(q, &v, 0, 10);
}

int main(void) {
	int failures = 0;
	HAL_Init();
	HAL_GPIO_WritePin(GPIOA, GPIO_PIN_5, GPIO_PIN_SET);
	if (mvnet_in_isr() != 0) {
		printf("FAIL: main thread counted as ISR\n");
		failures++;
	}
	q = osMessageQueueNew(4, sizeof(uint32_t), NULL);
	NVIC_SetPendingIRQ(TIM2_IRQn);
	NVIC_EnableIRQ(TIM2_IRQn);
	uint32_t got = 0;
	if (osMessageQueueGet(q, &got, NULL, 5000) != osOK || got != 42) {
		printf("FAIL: nothing from the handler\n");
		failures++;
	}
	mvnet_irq_wait_idle(5000);
	if (isr_flag != TIM2_IRQn + 16 || put0 != osOK || put10 != osErrorParameter) {
		printf("FAIL: in ISR %d, put(0) %d, put(10) %d\n", isr_flag, put0, put10);
		failures++;
	}
	printf("failures=%d\n", failures);
	return failures;
}
