/*
 * The CMSIS core intrinsics a Microvisor application uses, through the
 * family header (stm32u5xx.h → stm32u585xx.h → core_cm33.h → cmsis_gcc.h):
 * barriers, __NOP, PRIMASK, __get_IPSR in and out of a handler, __WFI
 * waiting for an interrupt, __SEV/__WFE, the SCB, bit intrinsics.
 * With argument "bkpt", __BKPT(0) must stop the process with SIGTRAP.
 * Prints "failures=N"; exits N.
 */
#include <stdio.h>
#include <string.h>

#include "stm32u5xx.h"
#include "mv_syscalls.h"

static volatile struct MvNotification ring[8] __attribute__((aligned(8)));
static volatile uint32_t ipsr_in_handler = 0xFFFFFFFFU;
static volatile int hits;

void TIM8_BRK_IRQHandler(void) {
	ipsr_in_handler = __get_IPSR();
	__WFI(); /* returns at once on the interrupt thread */
	__DMB();
	hits++;
}

int main(int argc, char **argv) {
	int failures = 0;
#define CHECK(cond)                                  \
	do {                                             \
		if (!(cond)) {                               \
			printf("FAIL: %s\n", #cond);             \
			failures++;                              \
		}                                            \
	} while (0)

	if (argc > 1 && strcmp(argv[1], "bkpt") == 0) {
		printf("breakpoint\n");
		fflush(stdout);
		__BKPT(0);
		printf("returned from __BKPT\n");
		return 0;
	}
	__NOP();
	__DSB();
	__ISB();
	__DMB();
	CHECK(__get_IPSR() == 0U);

	/* PRIMASK: the same state as __disable_irq/__enable_irq. */
	CHECK(__get_PRIMASK() == 0U);
	__set_PRIMASK(1U);
	CHECK(__get_PRIMASK() == 1U);
	__enable_irq();
	CHECK(__get_PRIMASK() == 0U);
	__disable_irq();
	uint32_t saved = __get_PRIMASK();
	__set_PRIMASK(0U);
	CHECK(__get_PRIMASK() == 0U);
	__set_PRIMASK(saved);
	CHECK(__get_PRIMASK() == 1U);
	__enable_irq();

	/* An interrupt wakes __WFI; the handler sees its exception number. */
	struct MvNotificationSetup setup = {.irq = TIM8_BRK_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof ring};
	MvNotificationHandle h = 0;
	CHECK(mvSetupNotifications(&setup, &h) == MV_STATUS_OKAY);
	NVIC_EnableIRQ(TIM8_BRK_IRQn);
	CHECK(mvTempTriggerNotification(h, MV_EVENTTYPE_CHANNELDATAREADABLE, 1) == MV_STATUS_OKAY);
	for (int i = 0; i < 5000 && hits == 0; i++) {
		__WFI(); /* at most 1 ms each */
	}
	CHECK(hits == 1);
	CHECK(ipsr_in_handler == (uint32_t)TIM8_BRK_IRQn + 16U);
	__WFI(); /* nothing pending: returns within about 1 ms */

	/* The event register: __SEV makes the next __WFE return at once. */
	__SEV();
	__WFE();
	__WFE(); /* cleared: waits (at most 1 ms) */

	/* The SCB is memory that reads back. */
	SCB->VTOR = 0x08000000U;
	SCB->AIRCR = (0x5FAUL << SCB_AIRCR_VECTKEY_Pos) | SCB_AIRCR_SYSRESETREQ_Msk; /* no reset */
	SCB->CPACR |= (3UL << 20) | (3UL << 22);
	CHECK(SCB->VTOR == 0x08000000U);
	CHECK((SCB->AIRCR & SCB_AIRCR_VECTKEY_Msk) == (0x5FAUL << SCB_AIRCR_VECTKEY_Pos));
	CHECK(SysTick_Config(SystemCoreClock / 1000U) == 0U);

	CHECK(__REV(0x12345678U) == 0x78563412U);
	CHECK(__REV16(0x12345678U) == 0x34127856U);
	CHECK(__REVSH((int16_t)0x0080) == (int16_t)-32768);
	CHECK(__RBIT(1U) == 0x80000000U);
	CHECK(__CLZ(0U) == 32U && __CLZ(1U) == 31U);
	CHECK(__get_IPSR() == 0U);

	printf("failures=%d\n", failures);
	return failures;
}
