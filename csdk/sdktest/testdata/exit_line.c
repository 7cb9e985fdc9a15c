/*
 * Ends the ways an application may end after using the library:
 *   main N   returns N from main
 *   exit N   calls exit(N) from another thread
 *   linebuf  prints a line, then waits for stdin to close (the test reads
 *            the line first: stdout must be line buffered by then)
 * The trace's exit line carries the status.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mv_syscalls.h"

static int code;

static void *exiter(void *arg) {
	(void)arg;
	exit(code);
}

int main(int argc, char **argv) {
	uint64_t us = 0;
	if (mvGetMicroseconds(&us) != MV_STATUS_OKAY || argc < 2) {
		return 100;
	}
	code = argc > 2 ? atoi(argv[2]) : 0;
	if (strcmp(argv[1], "exit") == 0) {
		pthread_t t;
		pthread_create(&t, NULL, exiter, NULL);
		pthread_join(t, NULL);
	}
	if (strcmp(argv[1], "linebuf") == 0) {
		printf("ready\n");
		int c;
		while ((c = getchar()) != EOF) {
		}
		return 0;
	}
	return code;
}
