/* One system call and the HAL's clock: enough to check linking and
 * configuration errors. */
#include <stdio.h>

#include "mv_syscalls.h"

int main(void) {
	uint32_t hz = 0;
	uint64_t us = 0;
	enum MvStatus a = mvGetHClk(&hz);
	enum MvStatus b = mvGetMicroseconds(&us);
	printf("hclk=%u status=%d,%d\n", hz, (int)a, (int)b);
	return a == MV_STATUS_OKAY && b == MV_STATUS_OKAY && hz == 160000000u ? 0 : 1;
}
