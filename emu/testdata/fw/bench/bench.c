/*
 * bench.c: the benchmark's work, shared by the firmware (main.c) and the
 * host build (host/main.c) so the two can be timed against each other and
 * checked to agree. Straight-line integer code: fill a buffer from an
 * xorshift32 generator, then fold it into a CRC-32 (bitwise, no table),
 * ROUNDS times. Written for this project.
 */
#include "bench.h"

static uint32_t buffer[BENCH_WORDS];

uint32_t bench_run(uint32_t rounds) {
    uint32_t x = 2463534242u, crc = 0xFFFFFFFFu;
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t i = 0; i < BENCH_WORDS; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buffer[i] = x + r;
        }
        for (uint32_t i = 0; i < BENCH_WORDS; i++) {
            crc ^= buffer[i];
            for (int b = 0; b < 32; b++) {
                crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
            }
        }
    }
    return ~crc;
}
