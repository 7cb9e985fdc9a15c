// Command lib is libmvnet, the library a Microvisor C application links to
// run on the host. csdk/Makefile builds it with -buildmode=c-archive
// (libmvnet.a) and -buildmode=c-shared (libmvnet.so); built as a program it
// does nothing, which keeps go build ./... checking it.
//
// Its C half is the system-call shim (syscalls_gen.c: every function of
// mv_syscalls.h, generated), the interrupt controller and interrupt thread
// (nvic.c: the CMSIS NVIC calls of stm32u585xx.h, the waits behind __WFI
// and __WFE, and mvnet_in_isr for the RTOS stand-in and __get_IPSR), the
// STM32U585 vector table (vectors.c), the HAL stand-in's trace hook
// (trace.c) and what runs before main (startup.c: the start-up signal mask,
// stdout line buffering, the exit hook). Its Go half is these exports,
// which hand everything to package process. The exports have names of their
// own: cgo's _cgo_export.h would clash with mv_syscalls.h's prototypes
// otherwise.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include -O2 -Wall -Wextra -Wno-unused-parameter
#cgo LDFLAGS: -lpthread
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "irq.h"
*/
import "C"

import (
	"unsafe"

	"github.com/mvnet/mvnet/csdk/internal/hostabi"
	"github.com/mvnet/mvnet/csdk/process"
	"github.com/mvnet/mvnet/kernel"
)

//go:generate go run gen_shim.go

func options() process.Options {
	return process.Options{
		ABI:  hostabi.ABI(),
		Pend: func(irq uint32) { C.mvnet_irq_pend(C.uint32_t(irq)) },
		SetTrace: func(on bool) {
			v := C.int(0)
			if on {
				v = 1
			}
			C.mvnet_irq_set_trace(v)
		},
		Exit: func(code int) {
			C.fflush(nil)
			C.exit(C.int(code))
		},
		Restart: func(env []string) error {
			C.fflush(nil)
			// The new image inherits this thread's signal mask: give it the
			// one the process started with, not the interrupt thread's.
			C.mvnet_restore_signal_mask()
			return process.ExecSelf(env)
		},
	}
}

func proc() *process.Process { return process.Global(options) }

// mvnet_go_init reads the configuration and opens the trace (not the
// kernel) before the interrupt thread starts.
//
//export mvnet_go_init
func mvnet_go_init() { proc() }

// mvnet_go_syscall runs system call number nr (its index in abi.Calls) with
// the arguments args points to: 4 words on the calling C function's stack
// (syscalls_gen.c), read in place — C memory, valid for the call, not kept.
//
//export mvnet_go_syscall
func mvnet_go_syscall(nr C.int32_t, args *C.uint64_t) C.uint32_t {
	return C.uint32_t(proc().CallArgs(int(nr), (*kernel.Args)(unsafe.Pointer(args))))
}

// mvnet_go_baseline does nothing: a bare call from C into this library's Go
// half, the floor under every system call (cgo's callback). It is exported
// for csdk/sdktest's BenchmarkSyscallFromC, which measures system calls
// against it in the same run; it is in no header.
//
//export mvnet_go_baseline
func mvnet_go_baseline() C.uint32_t { return 0 }

// mvnet_go_irq_delivered reports a delivery by the interrupt thread: always
// for an IRQ without a handler, for every delivery while tracing.
//
//export mvnet_go_irq_delivered
func mvnet_go_irq_delivered(irq C.uint32_t, handled C.int) {
	proc().IRQDelivered(uint32(irq), handled != 0, C.GoString(C.mvnet_vector_name(C.int(irq))))
}

// mvnet_go_trace_event records an event of the HAL stand-in in the trace.
//
//export mvnet_go_trace_event
func mvnet_go_trace_event(kind, fields *C.char) {
	proc().TraceEvent(C.GoString(kind), C.GoString(fields))
}

// mvnet_go_exit is the exit hook (startup.c): the application returned from
// main or called exit(), with status if known. It writes the trace's exit
// line if the library was in use; it never starts it.
//
//export mvnet_go_exit
func mvnet_go_exit(known, status C.int) {
	if p := process.Running(); p != nil {
		p.Exited(known != 0, int(status))
	}
}

// mvnet_go_system_reset is NVIC_SystemReset; it returns only on failure.
//
//export mvnet_go_system_reset
func mvnet_go_system_reset() { proc().SystemReset() }

func main() {}
