/*
 * An application that keeps Microvisor's non-secure system file
 * (system_stm32u5xx_ns.c): its own SystemCoreClock, SystemInit,
 * SystemCoreClockUpdate and ST's tables, as ST writes them. It must link
 * against both libraries (libmvnet's are weak) and the HAL must read the
 * application's SystemCoreClock. Built with -fvisibility=hidden too.
 * Prints "failures=N"; exits N.
 */
#include <stdio.h>

#include "stm32u5xx.h"
#include "stm32u5xx_hal.h"
#include "mv_syscalls.h"

/* ---- as in system_stm32u5xx_ns.c ---- */
uint32_t SystemCoreClock = 4000000U;
const uint8_t AHBPrescTable[16] = {0U, 0U, 0U, 0U, 0U, 0U, 0U, 0U, 1U, 2U, 3U, 4U, 6U, 7U, 8U, 9U};
const uint8_t APBPrescTable[8] = {0U, 0U, 0U, 0U, 1U, 2U, 3U, 4U};
const uint32_t MSIRangeTable[16] = {48000000U, 24000000U, 16000000U, 12000000U, 4000000U, 2000000U, 1500000U, 1000000U,
                                    3072000U, 1536000U, 1024000U, 768000U, 400000U, 200000U, 150000U, 100000U};
static int system_init_calls, update_calls;

void SystemInit(void) {
	system_init_calls++;
}

void SystemCoreClockUpdate(void) {
	update_calls++;
	SystemCoreClock = SECURE_SystemCoreClockUpdate();
}

/* ---- as in the samples' main.c ---- */
uint32_t SECURE_SystemCoreClockUpdate(void) {
	uint32_t clock = 0;
	mvGetHClk(&clock);
	return clock;
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

	SystemInit();
	CHECK(system_init_calls == 1);
	CHECK(HAL_Init() == HAL_OK);
	CHECK(HAL_RCC_GetHCLKFreq() == 4000000U); /* the application's variable */
	SystemCoreClock = 12345U;
	CHECK(HAL_RCC_GetHCLKFreq() == 12345U);
	SystemCoreClockUpdate();
	CHECK(update_calls == 1);
	CHECK(SystemCoreClock == 160000000U);
	CHECK(HAL_RCC_GetHCLKFreq() == 160000000U);
	CHECK(AHBPrescTable[9] == 2U);
	printf("clock=%u failures=%d\n", (unsigned)HAL_RCC_GetHCLKFreq(), failures);
	return failures;
}
