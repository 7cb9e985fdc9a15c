/*
 * An application with its own SIGUSR1 handler. Without
 * MVNET_UPDATE_SIGNAL=1 the library must leave SIGUSR1 alone: the handler
 * runs for a signal raised before the library starts and for one raised
 * after (the kernel and cloud running). Prints "handled=N".
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mv_syscalls.h"

static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
	(void)sig;
	handled++;
}

int main(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	struct MvRequestNetworkParams p = {.version = 1, .v1 = {.notification_handle = 0, .notification_tag = 0}};
	MvNetworkHandle h = 0;
	mvRequestNetwork(&p, &h); /* starts the kernel and cloud */
	raise(SIGUSR1);
	for (int i = 0; i < 3000 && handled < 2; i++) { /* 30 s deadline */
		usleep(10000);
	}
	printf("handled=%d\n", (int)handled);
	return 0;
}
