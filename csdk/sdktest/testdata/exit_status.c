/* mvTestingComplete(argv[1]) as the first and only system call; stdout
 * written before it must not be lost. */
#include <stdio.h>
#include <stdlib.h>

#include "mv_syscalls.h"

int main(int argc, char **argv) {
	printf("before exit"); /* no newline: still buffered when the call comes */
	enum MvStatus st = mvTestingComplete(argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 0);
	printf("\nmvTestingComplete returned %d\n", (int)st);
	return 100;
}
