/*
 * faults: one deliberate fault, chosen by fw_fault_kind (the build define
 * FW_FAULT, default 1; the word is in .data, so a test may also patch it
 * in the image or through the debugger before it runs):
 *
 *   1 undefined instruction (UDF): UsageFault UNDEFINSTR
 *   2 bad access: a load from 0x60000000, where nothing is mapped: BusFault
 *   3 divide by zero with CCR.DIV_0_TRP set: UsageFault DIVBYZERO
 *   4 stack overflow: MSPLIM set to the bottom of the stack (fw.ld
 *     _sstack), then unbounded recursion: UsageFault STKOF
 *
 * No fault handler is installed: each escalates to HardFault, whose vector
 * is Default_Handler (startup.c), so the run ends in a crash report. Before
 * the fault the program prints which one it takes; if execution ever gets
 * past it, mvTestingComplete(1).
 */
#include <stdio.h>

#include "fw.h"

#ifndef FW_FAULT
#define FW_FAULT 1
#endif

volatile uint32_t fw_fault_kind = FW_FAULT;

__attribute__((noinline)) static void undefined_instruction(void) { __asm volatile("udf #0"); }

__attribute__((noinline)) static uint32_t bad_access(void) { return REG32(0x60000000u); }

__attribute__((noinline)) static int32_t divide(volatile int32_t a, volatile int32_t b) { return a / b; }

#pragma GCC diagnostic ignored "-Winfinite-recursion" /* the point of fault 4 */
__attribute__((noinline)) static uint32_t recurse(uint32_t depth) {
    volatile uint32_t frame[16];
    frame[depth % 16] = depth;
    return recurse(depth + 1) + frame[0]; /* not a tail call: each level keeps its frame */
}

int main(void) {
    uint32_t kind = fw_fault_kind;
    printf("faults: taking fault %lu\n", (unsigned long)kind);
    switch (kind) {
    case 1:
        undefined_instruction();
        break;
    case 2:
        printf("faults: read 0x%08lx\n", (unsigned long)bad_access());
        break;
    case 3:
        SCB_CCR |= CCR_DIV_0_TRP;
        __asm volatile("dsb\n isb" ::: "memory");
        printf("faults: 1/0 = %ld\n", (long)divide(1, 0));
        break;
    case 4: {
        extern char _sstack; /* fw.ld */
        fw_set_msplim((uint32_t)&_sstack);
        printf("faults: %lu\n", (unsigned long)recurse(0));
        break;
    }
    default:
        printf("faults: no fault %lu\n", (unsigned long)kind);
        return 2;
    }
    printf("faults: still running after fault %lu\n", (unsigned long)kind);
    return 1;
}
