/*
 * bench (firmware): run bench.c and report bench_code(checksum) with
 * mvTestingComplete, after printing the whole checksum on the console.
 */
#include <stdio.h>

#include "bench.h"
#include "fw.h"

int main(void) {
    uint32_t sum = bench_run(FW_BENCH_ROUNDS);
    printf("bench: %u rounds, checksum 0x%08lx\n", (unsigned)FW_BENCH_ROUNDS, (unsigned long)sum);
    return (int)bench_code(sum);
}
