/*
 * mvRestart from an interrupt handler: the re-executed image must start
 * with the signal mask the process started with, not the interrupt
 * thread's (which blocks every asynchronous signal). Each run prints its
 * SigBlk line from /proc/self/status; the first restarts from TIM2's
 * handler, the second exits 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mv_syscalls.h"
#include "stm32u585xx.h"

static volatile struct MvNotification ring[8] __attribute__((aligned(8)));

void TIM2_IRQHandler(void) {
	mvRestart(MV_RESTARTMODE_AUTOAPPLYUPDATE);
}

int main(void) {
	const char *runs = getenv("MVNET_RESTARTS");
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL) {
		return 2;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "SigBlk:", 7) == 0) {
			printf("run=%s %s", runs != NULL ? runs : "0", line);
		}
	}
	fclose(f);
	fflush(stdout);
	if (runs != NULL) {
		return 0;
	}
	static struct MvNotificationSetup setup = {.irq = TIM2_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof ring};
	MvNotificationHandle h = 0;
	if (mvSetupNotifications(&setup, &h) != MV_STATUS_OKAY) {
		return 3;
	}
	NVIC_EnableIRQ(TIM2_IRQn);
	if (mvTempTriggerNotification(h, MV_EVENTTYPE_CHANNELDATAREADABLE, 1) != MV_STATUS_OKAY) {
		return 4;
	}
	for (;;) {
		pause();
	}
}
