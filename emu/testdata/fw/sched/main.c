/*
 * sched: a two-thread preemptive scheduler of its own. SysTick fires every
 * TICK cycles and pends PendSV; PendSV (switch.S) saves r4-r11 on the
 * running thread's process stack and resumes the other thread. Each thread
 * only counts, never yields: both advance only if preemption works. Thread
 * A finishes the test with mvTestingComplete(0) once both counters passed
 * GOAL, or 1 if TIMEOUT ticks went by first.
 */
#include <stdio.h>

#include "fw.h"

#define TICK 20000u /* SysTick reload: cycles between switches */
#define GOAL 10000u
#define TIMEOUT 2000u

/* One thread: its saved process stack pointer and the EXC_RETURN to resume
 * it with (0 until it first runs; switch.S derives it). switch.S knows
 * this layout. */
struct thread {
    uint32_t sp;
    uint32_t exc_return;
};

struct thread threads[2];
struct thread *sched_current; /* switch.S: the running thread, 0 before the first switch */
struct thread *sched_next;    /* switch.S: the thread PendSV resumes */

static volatile uint32_t count_a, count_b, ticks;
static uint32_t stack_a[256] __attribute__((aligned(8)));
static uint32_t stack_b[256] __attribute__((aligned(8)));

void SysTick_Handler(void) {
    ticks++;
    sched_next = sched_current == &threads[0] ? &threads[1] : &threads[0];
    SCB_ICSR = ICSR_PENDSVSET;
}

static void thread_a(void) {
    for (;;) {
        count_a++;
        if (count_a > GOAL && count_b > GOAL) {
            printf("sched: a %lu, b %lu after %lu ticks\n", (unsigned long)count_a, (unsigned long)count_b,
                   (unsigned long)ticks);
            fw_exit(0);
        }
        if (ticks > TIMEOUT) {
            printf("sched: no progress: a %lu, b %lu\n", (unsigned long)count_a, (unsigned long)count_b);
            fw_exit(1);
        }
    }
}

static void thread_b(void) {
    for (;;) {
        count_b++;
    }
}

/* init_stack builds the frame PendSV pops for a thread that never ran:
 * r4-r11 (software-saved), then the exception frame r0-r3, r12, lr, pc,
 * xPSR with the Thumb bit. */
static uint32_t init_stack(uint32_t *stack, size_t words, void (*entry)(void)) {
    uint32_t *sp = stack + words;
    *--sp = 1u << 24;                       /* xPSR: T */
    *--sp = (uint32_t)entry & ~1u;          /* pc */
    *--sp = (uint32_t)fw_exit;              /* lr: a thread that returns exits */
    for (int i = 0; i < 5; i++) *--sp = 0;  /* r12, r3-r0 */
    for (int i = 0; i < 8; i++) *--sp = 0;  /* r11-r4 */
    return (uint32_t)sp;
}

int main(void) {
    threads[0].sp = init_stack(stack_a, 256, thread_a);
    threads[1].sp = init_stack(stack_b, 256, thread_b);
    SCB_SHPR(14) = 0xFF; /* PendSV: lowest priority */
    SCB_SHPR(15) = 0x80; /* SysTick: above PendSV */
    sched_next = &threads[0];
    SYST_RVR = TICK - 1;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    SCB_ICSR = ICSR_PENDSVSET; /* the first switch: main's context is dropped */
    __asm volatile("dsb\n isb" ::: "memory");
    for (;;) {
        fw_wfi(); /* not reached once PendSV has switched */
    }
}
