package sdktest

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/csdk/process"
)

// The bad pointers every pointer argument is tried with: NULL, a small
// offset from NULL, a hole punched into a PROT_NONE reservation (if the
// hole has been mapped again by the time of the call, the call is skipped),
// a PROT_NONE page, and — only for arguments the call writes through — a
// PROT_READ page.
var badPointers = []struct{ name, expr string }{
	{"null", "NULL"},
	{"small", "(void *)8"},
	{"unmapped", "gone"},
	{"protnone", "none"},
	{"readonly", "ro"},
}

func isPointer(ctype string) bool {
	return strings.Contains(ctype, "*") || strings.HasSuffix(ctype, "Handle")
}

func isOutput(ctype string) bool {
	return strings.HasSuffix(ctype, "*") && !strings.HasPrefix(ctype, "const ")
}

// wildProgram renders a C program that calls every call of the header that
// takes a pointer with each bad pointer in each pointer argument, every
// other argument valid (a zeroed scratch buffer, handle 0, integers 64), and
// prints "call param bad status" per call. Calls without pointers are
// called once with handle 0, except the ones that end or restart the
// process.
func wildProgram(calls []abi.Call) string {
	var b strings.Builder
	b.WriteString(`#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "mv_syscalls.h"

static uint8_t scratch[16384] __attribute__((aligned(512)));

/* Whether the hole is still unmapped: mincore fails with ENOMEM then. */
static int hole(void *p) {
	unsigned char v;
	return mincore(p, 4096, &v) == -1 && errno == ENOMEM;
}

int main(void) {
	/* Start the library first: its own mappings come before the hole. */
	uint64_t us;
	if (mvGetMicroseconds(&us) != MV_STATUS_OKAY) {
		return 98;
	}
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *res = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED || res == MAP_FAILED || munmap(res + 4096, 4096) != 0) {
		return 99;
	}
	void *gone = res + 4096, *none = res;
	(void)ro;
	(void)none;
`)
	for _, c := range calls {
		var ptrs []int
		for i, p := range c.Params {
			if isPointer(p.CType) && !strings.HasSuffix(p.CType, "Handle") {
				ptrs = append(ptrs, i)
			}
		}
		arg := func(i int, bad string) string {
			p := c.Params[i]
			switch {
			case bad != "":
				return fmt.Sprintf("(%s)%s", p.CType, bad)
			case strings.HasSuffix(p.CType, "Handle"):
				return fmt.Sprintf("(%s)0", p.CType)
			case isPointer(p.CType):
				return fmt.Sprintf("(%s)scratch", p.CType)
			default:
				return fmt.Sprintf("(%s)64", p.CType)
			}
		}
		emit := func(param, bad string, badIndex int, badExpr string) {
			var args []string
			for i := range c.Params {
				e := ""
				if i == badIndex {
					e = badExpr
				}
				args = append(args, arg(i, e))
			}
			fmt.Fprintf(&b, "\tmemset(scratch, 0, sizeof scratch);\n")
			call := fmt.Sprintf("printf(\"%s %s %s %%d\\n\", (int)%s(%s));", c.Name, param, bad, c.Name, strings.Join(args, ", "))
			if bad == "unmapped" {
				call = fmt.Sprintf("if (hole(gone)) { %s } else { printf(\"%s %s reused -1\\n\"); }", call, c.Name, param)
			}
			fmt.Fprintf(&b, "\t%s\n", call)
		}
		if len(ptrs) == 0 {
			switch c.Name {
			case "mvTestingComplete", "mvRestart", "mvDeepSleep", "mvPowerSave":
				continue
			}
			emit("-", "-", -1, "")
			continue
		}
		for _, i := range ptrs {
			for _, bp := range badPointers {
				if bp.name == "readonly" && !isOutput(c.Params[i].CType) {
					continue
				}
				emit(c.Params[i].Name, bp.name, i, bp.expr)
			}
		}
	}
	b.WriteString("\tfflush(stdout);\n\treturn mvTestingComplete(0);\n}\n")
	return b.String()
}

// lateOnly are output pointers the kernel checks only after the call has had
// its effect (a bad one is LATEFAULT), so with handle 0 the call fails with
// INVALIDHANDLE before reaching them. spec/abi.md orders pointer faults
// first; PARAMETERFAULT is accepted too for when the kernel checks them up
// front.
var lateOnly = map[string]bool{
	"mvWriteChannel available":     true,
	"mvWriteChannelStream written": true,
}

// TestWildPointers calls every system call with NULL, (void*)8, unmapped
// and read-only pointers and checks the documented status: PARAMETERFAULT
// for every pointer of a call served by the kernel or the emulation,
// UNAVAILABLE for a call nobody serves, INVALIDHANDLE for handle 0 — and
// no crash.
func TestWildPointers(t *testing.T) {
	t.Parallel()
	calls := abi.Calls()
	served := map[string]string{}
	for _, s := range process.SupportTable() {
		served[s.Name] = s.Served
	}
	bin := compile(t, "wild", wildProgram(calls), static)
	r := run(t, bin, nil, 60*time.Second)
	if r.code != 0 {
		t.Fatalf("wild-pointer program: %v", r)
	}
	want := func(call, param string) abi.Status {
		switch {
		case served[call] == process.NotServed:
			return abi.StatusUnavailable
		case call == "mvServerLog":
			// spec/abi.md lists UNAVAILABLE (logging not initialised,
			// as in this program) before PARAMETERFAULT.
			return abi.StatusUnavailable
		case param == "-":
			switch call {
			case "mvNoOp", "mvSystemLedEnable":
				return abi.StatusOkay
			}
			return abi.StatusInvalidHandle
		}
		return abi.StatusParameterFault
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var call, param, bad string
		var st int
		if _, err := fmt.Sscanf(sc.Text(), "%s %s %s %d", &call, &param, &bad, &st); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if bad == "reused" {
			t.Logf("%s %s: the unmapped hole was mapped again; not tried", call, param)
			continue
		}
		n++
		w := want(call, param)
		if lateOnly[call+" "+param] && abi.Status(st) == abi.StatusInvalidHandle {
			w = abi.StatusInvalidHandle
		}
		if abi.Status(st) != w {
			t.Errorf("%s with %s=%s: %v, want %v", call, param, bad, abi.Status(st), w)
		}
	}
	var network int
	for _, c := range calls {
		if c.Network {
			network++
		}
	}
	if n < network {
		t.Fatalf("only %d calls made for %d network calls", n, network)
	}
	// Every call made is traced, with its status.
	if got := len(r.lines("syscall")); got != n+2 {
		t.Errorf("%d syscall trace lines for %d calls, the first mvGetMicroseconds and mvTestingComplete", got, n)
	}
	t.Logf("%d calls with bad pointers or handles", n)
}
