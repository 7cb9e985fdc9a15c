/* bench.h: the benchmark's interface (bench.c). */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>

#define BENCH_WORDS 256

/* FW_BENCH_ROUNDS sets the work. With arm-none-eabi-gcc 12 -O2 for
 * Cortex-M33 a round is about 44,000 instructions (per word: 7 to fill,
 * 5 per bit and 5 more to fold), so the default is about 8.8 million. */
#ifndef FW_BENCH_ROUNDS
#define FW_BENCH_ROUNDS 200
#endif

/* bench_run does rounds rounds and returns the checksum. */
uint32_t bench_run(uint32_t rounds);

/* bench_code is what both builds report (exit status, mvTestingComplete):
 * the low 8 bits of the checksum. */
static inline uint32_t bench_code(uint32_t sum) { return sum & 0xFFu; }

#endif
