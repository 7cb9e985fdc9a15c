package emu

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// contextSwitch is a two-task preemptive scheduler of its own: SysTick
// every 1000 cycles pends PendSV, whose handler switches between two
// tasks on PSP (r4-r11 saved on the task's stack, the rest by exception
// entry). After 100 switches the next SysTick ends the run.
const contextSwitch = `
	.equ COUNT_A, 0x20000100
	.equ COUNT_B, 0x20000104
	.equ SWITCHES, 0x20000108
	.equ CUR, 0x2000010C
	.equ SAVED, 0x20000110
	.equ TIMES, 0x20000200 @ DWT_CYCCNT at each SysTick entry

	.thumb_func
reset:
	ldr r0, =0xE000EDFC      @ DEMCR.TRCENA, DWT_CTRL.CYCCNTENA
	mov r1, #0x01000000
	str r1, [r0]
	ldr r0, =0xE0001000
	movs r1, #1
	str r1, [r0]
	ldr r0, =0xE000ED20      @ SHPR3: PendSV and SysTick lowest
	ldr r1, =0xF0F00000
	str r1, [r0]
	ldr r0, =0x20003000 - 64 @ task B's first frame: r4-r11, r0-r3, r12, lr, pc, xpsr
	ldr r1, =SAVED
	str r0, [r1, #4]
	ldr r2, =task_b
	bic r2, r2, #1
	str r2, [r0, #56]
	mov r2, #0x01000000
	str r2, [r0, #60]
	ldr r0, =0xE000E014      @ SYST_RVR
	ldr r1, =999
	str r1, [r0]
	str r1, [r0, #4]         @ SYST_CVR: any write clears
	movs r1, #7              @ ENABLE | TICKINT | CLKSOURCE
	str r1, [r0, #-4]
	ldr r0, =0x20002000      @ task A on PSP
	msr psp, r0
	movs r0, #2
	msr control, r0
	isb
	b task_a

	.thumb_func
task_a:
	ldr r0, =COUNT_A
1:	ldr r1, [r0]
	adds r1, #1
	str r1, [r0]
	b 1b

	.thumb_func
task_b:
	ldr r0, =COUNT_B
1:	ldr r1, [r0]
	adds r1, #1
	str r1, [r0]
	b 1b

	.thumb_func
systick_handler:
	ldr r2, =0xE0001004
	ldr r2, [r2]
	ldr r0, =SWITCHES
	ldr r1, [r0]
	ldr r3, =TIMES
	str r2, [r3, r1, lsl #2]
	cmp r1, #100
	bge 2f
	ldr r0, =0xE000ED04      @ ICSR.PENDSVSET
	mov r1, #0x10000000
	str r1, [r0]
	bx lr
2:	mov r0, r1
	b done

	.thumb_func
pendsv_handler:
	mrs r0, psp
	stmdb r0!, {r4-r11}
	ldr r2, =CUR
	ldr r3, [r2]
	ldr r1, =SAVED
	str r0, [r1, r3, lsl #2]
	eor r3, r3, #1
	str r3, [r2]
	ldr r0, [r1, r3, lsl #2]
	ldmia r0!, {r4-r11}
	msr psp, r0
	ldr r0, =SWITCHES
	ldr r1, [r0]
	adds r1, #1
	str r1, [r0]
	bx lr
`

// TestContextSwitch runs the scheduler: both tasks make progress, there
// are exactly 100 switches, SysTick is entered every 1000 cycles exactly,
// and the run ends at the 101st SysTick on the virtual clock. A second
// run is identical instruction for instruction and in event times.
func TestContextSwitch(t *testing.T) {
	img, _ := assemble(t, contextSwitch)
	var first [5]uint64
	for run := range 2 {
		a := newAsmMachine(t, img, Options{})
		if err := a.run(t); err != nil {
			t.Fatal(err)
		}
		ca, cb := a.word(t, 0x20000100), a.word(t, 0x20000104)
		if a.result != 100 || ca == 0 || cb == 0 {
			t.Fatalf("switches %d, task A %d, task B %d", a.result, ca, cb)
		}
		if got := a.cycles() / 1000; got != 101 {
			t.Fatalf("run ended at cycle %d, want during the 101st SysTick period", a.cycles())
		}
		// SysTick is taken on the exact instruction: its handler reads
		// DWT_CYCCNT exactly 1000 cycles after the previous time.
		var times [101]uint32
		for i := range times {
			times[i] = a.word(t, 0x20000200+4*uint32(i))
			if i > 0 && times[i]-times[i-1] != 1000 {
				t.Fatalf("SysTick entries at cycles %d and %d", times[i-1], times[i])
			}
		}
		got := [5]uint64{a.cpu.Instructions, uint64(ca), uint64(cb), a.entries, uint64(times[0])}
		if run == 0 {
			first = got
		} else if got != first {
			t.Fatalf("second run differs: %v, first %v", got, first)
		}
	}
}

// nvicLog: IRQ0 logs 'a', pends IRQ1, logs 'c'; IRQ1 logs 'b'; Thread
// pends IRQ0 and logs 'd'. The order shows preemption or tail-chaining.
const nvicLog = `
	.equ LOGP, 0x20000200
	.equ LOG, 0x20000204
	.macro log ch
	ldr r0, =LOGP
	ldr r1, [r0]
	movs r2, #\ch
	strb r2, [r1], #1
	str r1, [r0]
	.endm

	.thumb_func
reset:
	ldr r0, =LOGP
	ldr r1, =LOG
	str r1, [r0]
	ldr r0, =0xE000ED0C      @ AIRCR: VECTKEY, PRIGROUP
	ldr r1, =0x05FA0000 | (PRIGROUP << 8)
	str r1, [r0]
	ldr r0, =0xE000E400      @ IPR0: IRQ0, IRQ1 priorities
	ldr r1, =PRIOS
	str r1, [r0]
	ldr r0, =0xE000E100      @ ISER0
	movs r1, #3
	str r1, [r0]
	ldr r0, =0xE000E200      @ ISPR0: pend IRQ0
	movs r1, #1
	str r1, [r0]
	log 'd'
	movs r0, #0
	b done

	.thumb_func
irq0_handler:
	log 'a'
	ldr r0, =0xE000E200
	movs r1, #2
	str r1, [r0]
	log 'c'
	bx lr

	.thumb_func
irq1_handler:
	log 'b'
	bx lr
`

func TestNVICPreemption(t *testing.T) {
	for _, tc := range []struct {
		prigroup, prios uint32
		want            string
	}{
		{0, 0x4080, "abcd"}, // IRQ1 (0x40) preempts IRQ0 (0x80)
		{0, 0x8040, "acbd"}, // IRQ1 lower: tail-chained after IRQ0
		{0, 0x8080, "acbd"}, // equal: no preemption
		{7, 0x4080, "acbd"}, // PRIGROUP 7: no group bits, nothing preempts
		{4, 0x4080, "abcd"}, // PRIGROUP 4: group bits [7:5]
	} {
		img, _ := assemble(t, fmt.Sprintf(".equ PRIGROUP, %d\n.equ PRIOS, %#x\n%s", tc.prigroup, tc.prios, nvicLog))
		a := newAsmMachine(t, img, Options{})
		if err := a.run(t); err != nil {
			t.Fatal(err)
		}
		r, _ := a.region(0x20000204, 4)
		if got := string(r.Data[0x204:0x208]); got != tc.want {
			t.Errorf("PRIGROUP %d priorities %#x: order %q, want %q", tc.prigroup, tc.prios, got, tc.want)
		}
	}
}

// faults: the faulting instruction is chosen by FAULT; the HardFault and
// UsageFault handlers record CFSR, HFSR, the stacked PC and which handler
// ran, then finish.
const faults = `
	.equ REC, 0x20000300
	.thumb_func
reset:
	ldr r0, =0xE000ED24      @ SHCSR
	ldr r1, =SHCSR
	str r1, [r0]
	ldr r0, =0xE000ED14      @ CCR
	ldr r1, [r0]
	orr r1, r1, #CCRBITS
	str r1, [r0]
	movs r2, #0
	ldr r3, =0x60000000
faulting:
	FAULT
	movs r0, #99
	b done

	.macro record which
	ldr r2, =REC
	ldr r0, =0xE000ED28
	ldr r1, [r0]
	str r1, [r2]
	ldr r1, [r0, #4]
	str r1, [r2, #4]
	mrs r0, msp
	ldr r1, [r0, #24]
	str r1, [r2, #8]
	movs r0, #\which
	b done
	.endm

	.thumb_func
hardfault_handler:
	LOCKUP
	record 3

	.thumb_func
usagefault_handler:
	record 6
`

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name, fault, lockup string
		shcsr, ccr          uint32
		handler             uint32
		cfsr, hfsr          uint32
		crash               string
	}{
		{"undefined escalates", "udf #0", "", 0, 0, 3, cfsrUndefInstr, hfsrForced, ""},
		{"undefined to UsageFault", "udf #0", "", shcsrUsgFaultEna, 0, 6, cfsrUndefInstr, 0, ""},
		{"divide by zero trap", "sdiv r0, r1, r2", "", shcsrUsgFaultEna, ccrDiv0Trp, 6, cfsrDivByZero, 0, ""},
		{"bus error escalates", "ldr r0, [r3]", "", 0, 0, 3, cfsrPreciseErr | cfsrBFARValid, hfsrForced, ""},
		{"lockup", "udf #0", "ldr r0, [r3]", 0, 0, 0, 0, 0, "lockup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := fmt.Sprintf(".equ SHCSR, %#x\n.equ CCRBITS, %#x\n.macro FAULT\n%s\n.endm\n.macro LOCKUP\n%s\n.endm\n%s",
				tc.shcsr, tc.ccr, tc.fault, tc.lockup, faults)
			img, syms := assemble(t, src)
			a := newAsmMachine(t, img, Options{Symbolize: func(addr uint32) string {
				if addr == syms["faulting"] {
					return "faulting"
				}
				return ""
			}})
			err := a.run(t)
			if tc.crash != "" {
				var k *Crash
				if !errors.As(err, &k) || !strings.Contains(k.Reason, tc.crash) {
					t.Fatalf("Run = %v, want a %s crash", err, tc.crash)
				}
				if k.PC != syms["hardfault_handler"] || k.CFSR&cfsrPreciseErr == 0 || k.BFAR != 0x60000000 {
					t.Fatalf("crash at %#x cfsr %#x bfar %#x:\n%s", k.PC, k.CFSR, k.BFAR, k.Report())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.result != tc.handler {
				t.Fatalf("handler %d ran, want %d", a.result, tc.handler)
			}
			if cfsr, hfsr, pc := a.word(t, 0x20000300), a.word(t, 0x20000304), a.word(t, 0x20000308); cfsr != tc.cfsr || hfsr != tc.hfsr || pc != syms["faulting"] {
				t.Fatalf("CFSR %#x HFSR %#x stacked PC %#x; want %#x %#x %#x", cfsr, hfsr, pc, tc.cfsr, tc.hfsr, syms["faulting"])
			}
		})
	}
}

// TestUnhandledCrash: a bus error with the default (b .) HardFault
// handler ends the run with a crash report naming the instruction.
func TestUnhandledCrash(t *testing.T) {
	img, syms := assemble(t, badStore)
	var unwound [3]uint32
	a := newAsmMachine(t, img, Options{
		Symbolize: func(addr uint32) string {
			if addr == syms["bad"] {
				return "reset+bad"
			}
			return ""
		},
		Backtrace: func(sp, lr, pc uint32, read func(uint32) (uint32, bool)) []string {
			unwound = [3]uint32{sp, lr, pc}
			if _, ok := read(sp); !ok {
				return nil
			}
			return []string{"unwound frame"}
		},
	})
	err := a.run(t)
	var k *Crash
	if !errors.As(err, &k) || k.Exception != excHardFault || k.PC != syms["bad"] {
		t.Fatalf("Run = %v", err)
	}
	if unwound != [3]uint32{0x20010000, 0xFFFFFFFF, syms["bad"]} {
		t.Errorf("Backtrace called with sp, lr, pc = %#x", unwound)
	}
	r := k.Report()
	for _, want := range []string{"unhandled HardFault", "reset+bad: str", "PRECISERR", "FORCED", "BFAR): 0x60000004", "unwound frame"} {
		if !strings.Contains(r, want) {
			t.Errorf("crash report lacks %q:\n%s", want, r)
		}
	}
}

// sleeper: SysTick every 16000 cycles (100 us at 160 MHz) counts; the
// main loop sleeps in WFI; the tenth tick ends the run.
const sleeper = `
	.thumb_func
reset:
	ldr r0, =0xE000E014
	ldr r1, =15999
	str r1, [r0]
	str r1, [r0, #4]
	movs r1, #7
	str r1, [r0, #-4]
1:	wfi
	b 1b

	.thumb_func
systick_handler:
	ldr r0, =0x20000400
	ldr r1, [r0]
	adds r1, #1
	str r1, [r0]
	cmp r1, #10
	it lt
	bxlt lr
	mov r0, r1
	b done
`

// TestSleepSkipsTime: WFI with nothing pending jumps virtual time to the
// next SysTick, so ten ticks take ten periods of virtual time and only a
// few dozen instructions.
func TestSleepSkipsTime(t *testing.T) {
	img, _ := assemble(t, sleeper)
	a := newAsmMachine(t, img, Options{})
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	if a.result != 10 {
		t.Fatalf("ticks %d", a.result)
	}
	if now := a.Now(); now < time.Millisecond || now > time.Millisecond+time.Microsecond {
		t.Fatalf("virtual time %v after 10 ticks of 100 us", now)
	}
	if a.cpu.Instructions > 200 {
		t.Fatalf("%d instructions: the core did not sleep", a.cpu.Instructions)
	}
}

// TestExecWakesSleeper: in deterministic mode a sleeping core with no
// timer waits for outside work; Exec from another goroutine writes
// memory and pends an interrupt, which wakes it.
func TestExecWakesSleeper(t *testing.T) {
	img, _ := assemble(t, `
	.thumb_func
reset:
	ldr r0, =0xE000E100
	movs r1, #1
	str r1, [r0]
1:	wfi
	b 1b

	.thumb_func
irq0_handler:
	ldr r0, =0x20000500
	ldr r0, [r0]
	b done
`)
	a := newAsmMachine(t, img, Options{})
	asleep := make(chan struct{})
	a.At(time.Microsecond, func() { close(asleep) })
	go func() {
		<-asleep
		a.Exec(func() {
			r, _ := a.region(0x20000500, 4)
			r.Data[0x500] = 42
			a.PendIRQ(0)
		})
	}()
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	if a.result != 42 {
		t.Fatalf("result %d", a.result)
	}
}

// TestSystemReset: AIRCR.SYSRESETREQ resets the core (SRAM survives);
// OnReset is told.
func TestSystemReset(t *testing.T) {
	img, _ := assemble(t, `
	.thumb_func
reset:
	ldr r0, =0x20000600
	ldr r1, [r0]
	adds r1, #1
	str r1, [r0]
	cmp r1, #3
	bge 1f
	ldr r0, =0xE000ED0C
	ldr r1, =0x05FA0004
	str r1, [r0]
	b .
1:	mov r0, r1
	b done
`)
	resets := 0
	a := newAsmMachine(t, img, Options{OnReset: func() { resets++ }})
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	if a.result != 3 || resets != 2 {
		t.Fatalf("result %d resets %d", a.result, resets)
	}
}

// TestSVCStartsFirstTask is how an RTOS port starts its first task: the
// main stack reset from the vector table through VTOR, interrupts
// enabled, SVC; the SVCall handler points PSP at the task's initial frame,
// sets CONTROL.SPSEL and branches to EXC_RETURN 0xFFFFFFBC, which pops
// the frame into Thread mode on PSP.
func TestSVCStartsFirstTask(t *testing.T) {
	img, syms := assemble(t, `
	.thumb_func
reset:
	ldr r0, =0x20004000 - 32   @ the task's frame: r0-r3, r12, lr, pc, xpsr
	ldr r1, =task
	bic r1, r1, #1
	str r1, [r0, #24]
	mov r1, #0x01000000
	str r1, [r0, #28]
	movs r1, #0x55
	str r1, [r0]               @ the task's r0
	ldr r0, =0xE000ED08        @ VTOR -> vector 0 -> MSP
	ldr r0, [r0]
	ldr r0, [r0]
	msr msp, r0
	cpsie i
	svc 2
	b .

	.thumb_func
svc_handler:
	ldr r0, =0x20004000 - 32
	ldr r1, =0x20003000
	msr psplim, r1
	msr psp, r0
	movs r1, #2
	msr control, r1
	isb
	ldr r2, =0xFFFFFFBC
	bx r2

	.thumb_func
task:
	mrs r1, control
	mrs r2, ipsr
	mrs r3, psp
	cmp r1, #2
	bne 1f
	cmp r2, #0
	bne 1f
	cmp r3, sp
	bne 1f
	ldr r1, =0x20004000
	cmp r3, r1
	bne 1f
	b done                     @ r0 = 0x55 from the frame
1:	movs r0, #0
	b done
`)
	a := newAsmMachine(t, img, Options{})
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	if a.result != 0x55 {
		t.Fatalf("task saw the wrong state (result %#x, pc %#x, task at %#x)", a.result, a.cpu.R[15], syms["task"])
	}
}

// TestExceptionClearsExclusive: an interrupt between LDREX and STREX
// clears the local monitor, so the STREX fails (returns 1), as an RTOS's
// lock-free code relies on.
func TestExceptionClearsExclusive(t *testing.T) {
	img, _ := assemble(t, `
	.thumb_func
reset:
	ldr r1, =0xE000E100
	movs r2, #1
	str r2, [r1]               @ ISER0: IRQ0
	ldr r4, =0x20000800
	ldrex r0, [r4]
	ldr r1, =0xE000E200
	str r2, [r1]               @ ISPR0: IRQ0, taken after this store
	movs r0, #5
	strex r3, r0, [r4]
	mov r0, r3
	b done

	.thumb_func
irq0_handler:
	bx lr
`)
	a := newAsmMachine(t, img, Options{})
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	if a.result != 1 || a.word(t, 0x20000800) != 0 {
		t.Fatalf("STREX after an interrupt: status %d, memory %d (want 1, 0)", a.result, a.word(t, 0x20000800))
	}
}
