/*
 * An application with its own SIGSEGV handler, installed after the library
 * started (replacing the Go runtime's). Bad pointers inside one page — a
 * PROT_NONE page, an unmapped hole, a read-only page for an output — must
 * still be PARAMETERFAULT: the library checks them against the mappings
 * before touching them, so the handler never runs. Prints "faults=3".
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mv_syscalls.h"

static void on_segv(int sig) {
	(void)sig;
	static const char msg[] = "the application's SIGSEGV handler ran\n";
	if (write(1, msg, sizeof msg - 1) < 0) {
		_exit(98);
	}
	_exit(99);
}

int main(void) {
	uint64_t us = 0;
	if (mvGetMicroseconds(&us) != MV_STATUS_OKAY) {
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_segv;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	uint8_t *res = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED || ro == MAP_FAILED || munmap(res + 4096, 4096) != 0) {
		return 3;
	}
	int faults = 0;
	faults += mvGetMicroseconds((uint64_t *)(void *)res) == MV_STATUS_PARAMETERFAULT;
	faults += mvGetMicroseconds((uint64_t *)(void *)(res + 4096 + 64)) == MV_STATUS_PARAMETERFAULT;
	faults += mvGetMicroseconds((uint64_t *)ro) == MV_STATUS_PARAMETERFAULT;
	printf("faults=%d\n", faults);
	return 0;
}
