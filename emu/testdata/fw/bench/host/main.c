/*
 * bench (host): the same bench.c built with the host's gcc; prints the
 * checksum as the firmware does and exits with bench_code(checksum).
 */
#include <stdio.h>

#include "../bench.h"

int main(void) {
    uint32_t sum = bench_run(FW_BENCH_ROUNDS);
    printf("bench: %u rounds, checksum 0x%08lx\n", (unsigned)FW_BENCH_ROUNDS, (unsigned long)sum);
    return (int)bench_code(sum);
}
