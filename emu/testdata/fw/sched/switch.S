/*
 * switch.S: sched's context switch. PendSV runs at the lowest priority,
 * so it only ever preempts a thread. It saves r4-r11 below the hardware
 * frame on the running thread's process stack and records that stack
 * pointer and its EXC_RETURN; then it restores the next thread the same
 * way and returns into it. A thread that never ran has exc_return 0: it
 * gets the EXC_RETURN this exception was entered with, switched to the
 * process stack (bit 2, SPSEL), so the return goes to thread mode on PSP.
 * Written for this project.
 */
    .syntax unified
    .thumb
    .text

    .global PendSV_Handler
    .type PendSV_Handler, %function
    .thumb_func
PendSV_Handler:
    ldr   r3, =sched_current
    ldr   r1, [r3]
    cbz   r1, 1f                /* first switch: nothing to save */
    mrs   r0, psp
    stmdb r0!, {r4-r11}
    str   r0, [r1]              /* thread.sp */
    str   lr, [r1, #4]          /* thread.exc_return */
1:  ldr   r2, =sched_next
    ldr   r1, [r2]
    str   r1, [r3]              /* sched_current = sched_next */
    ldr   r0, [r1]
    ldmia r0!, {r4-r11}
    msr   psp, r0
    ldr   r0, [r1, #4]
    cbnz  r0, 2f
    orr   r0, lr, #4            /* never ran: return to thread mode on PSP */
2:  bx    r0
    .size PendSV_Handler, . - PendSV_Handler
    .pool
