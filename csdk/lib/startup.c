/*
 * startup.c: what libmvnet does as the process starts, before main.
 *
 *   - It keeps the signal mask the process started with: mvRestart and
 *     NVIC_SystemReset re-execute the program from whatever thread calls
 *     them (the interrupt thread, from a handler, blocks every asynchronous
 *     signal) and restore this mask first (mvnet_restore_signal_mask).
 *   - With MVNET_STDOUT_LINEBUF=1 (mvnet run sets it) stdout is made line
 *     buffered, so that the application's lines and the transcript
 *     interleave as they happen even when stdout is a pipe.
 *   - It registers an exit hook: when the application returns from main or
 *     calls exit(), the trace gets an "exit" line with the status (glibc's
 *     on_exit passes it; elsewhere atexit gives none). A process ended by a
 *     signal, _exit() or a crash runs no hook and writes none.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "irq.h"
#include "_cgo_export.h"

static sigset_t start_mask;
static int have_start_mask;
static pid_t start_pid; /* a forked child runs the hook without calling Go */

#ifdef __GLIBC__
static void exit_hook(int status, void *arg) {
	(void)arg;
	if (getpid() == start_pid) {
		mvnet_go_exit(1, status);
	}
}
#else
static void exit_hook(void) {
	if (getpid() == start_pid) {
		mvnet_go_exit(0, 0);
	}
}
#endif

__attribute__((constructor)) static void mvnet_startup(void) {
	have_start_mask = pthread_sigmask(SIG_SETMASK, NULL, &start_mask) == 0;
	start_pid = getpid();
	const char *lb = getenv("MVNET_STDOUT_LINEBUF");
	if (lb != NULL && strcmp(lb, "1") == 0) {
		setvbuf(stdout, NULL, _IOLBF, 0);
	}
#ifdef __GLIBC__
	on_exit(exit_hook, NULL);
#else
	atexit(exit_hook);
#endif
}

void mvnet_restore_signal_mask(void) {
	if (have_start_mask) {
		pthread_sigmask(SIG_SETMASK, &start_mask, NULL);
	}
}
