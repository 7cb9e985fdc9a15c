// A C++ application's handler: stm32u585xx.h declares the vector names
// with C linkage, so this definition is found without extern "C".
#include <cstdio>

#include "mv_syscalls.h"
#include "mvnet.h"
#include "stm32u585xx.h"

static volatile int calls;

void TIM2_IRQHandler(void) { calls++; }

int main() {
	MvNotificationHandle h = nullptr;
	(void)h;
	NVIC_SetPendingIRQ(TIM2_IRQn);
	NVIC_EnableIRQ(TIM2_IRQn);
	mvnet_irq_wait_idle(5000);
	std::printf("calls=%d\n", calls);
	return calls == 1 ? 0 : 1;
}
