/* mvRestart (or, with argument "reset", NVIC_SystemReset) re-executes the
 * program with the same arguments and environment; MVNET_RESTARTS counts,
 * the device ID stays, and mvGetWakeReason says why the program started
 * (printed as wake=N). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mv_syscalls.h"
#include "stm32u585xx.h"

int main(int argc, char **argv) {
	char id[35];
	memset(id, 0, sizeof id);
	if (mvGetDeviceId((uint8_t *)id, 34) != MV_STATUS_OKAY) {
		return 3;
	}
	enum MvWakeReason wake = MV_WAKEREASON__MAX;
	if (mvGetWakeReason(&wake) != MV_STATUS_OKAY) {
		return 6;
	}
	const char *n = getenv("MVNET_RESTARTS");
	printf("run=%s id=%s args=%d %s wake=%d\n", n ? n : "0", id, argc, argc > 1 ? argv[1] : "", (int)wake);
	fflush(stdout);
	if (n == NULL) {
		if (argc > 1 && strcmp(argv[1], "reset") == 0) {
			NVIC_SystemReset();
		}
		if (mvRestart((enum MvRestartMode)7) != MV_STATUS_PARAMETERFAULT) {
			return 4;
		}
		enum MvStatus st = mvRestart(MV_RESTARTMODE_AUTOAPPLYUPDATE);
		printf("mvRestart returned %d\n", (int)st);
		return 5;
	}
	return mvTestingComplete(0);
}
