package cpu

import "testing"

// TestFaultKindTable: every fault kind has its exception and its own
// CFSR status bit in the field of that exception (MMFSR for MemManage,
// BFSR for BusFault, UFSR for UsageFault).
func TestFaultKindTable(t *testing.T) {
	field := map[int]uint32{ExcMemManage: 0xff, ExcBusFault: 0xff00, ExcUsageFault: 0xffff0000}
	seen := uint32(0)
	for k := FaultUndefined; k <= FaultDataAccess; k++ {
		exc, bits := k.Exception(), k.CFSR()
		status := bits &^ (CFSRMMARValid | CFSRBFARValid)
		if bits == 0 || bits&^field[exc] != 0 || status&(status-1) != 0 || seen&status != 0 {
			t.Errorf("kind %d: exception %d CFSR %#x", k, exc, bits)
		}
		seen |= status
	}
	if FaultPreciseData.CFSR()&CFSRBFARValid == 0 || FaultDataAccess.CFSR()&CFSRMMARValid == 0 {
		t.Error("a fault with an address does not mark it valid")
	}
	if k := FaultKind(200); k.Exception() != ExcUsageFault || k.CFSR() != CFSRUndefInstr {
		t.Errorf("unknown kind: %d %#x", k.Exception(), k.CFSR())
	}
}

// CCR.BFHFNMIGN and CCR.STKOFHFNMIGN (BusFaultIgnoreNeg,
// StackLimitIgnoreNeg): at a negative execution priority — in HardFault
// or NMI, or with FAULTMASK set — a load or store nothing answers, and a
// stack pointer below its limit, do not fault; elsewhere, or with the bits
// clear, they do.
func TestIgnoreFaultsAtNegativePriority(t *testing.T) {
	const src = "ldr r0, =0x60000000\n ldr r1, =0x1234\n ldr r1, [r0]\n str r1, [r0]\n ldr r2, =0x08000100\n str r2, [r2]\n push {r0, r1, r2, r3}\n bkpt #0\n"
	for _, c := range []struct {
		name           string
		ipsr           uint16
		faultmask      bool
		bus, stk, want bool // ignore bits set; want: runs to the BKPT
	}{
		{"HardFault, both set", 3, false, true, true, true},
		{"NMI, both set", 2, false, true, true, true},
		{"FAULTMASK in Thread, both set", 0, true, true, true, true},
		{"Thread, both set", 0, false, true, true, false},
		{"HardFault, bits clear", 3, false, false, false, false},
		{"HardFault, only the bus bit", 3, false, true, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newMachine(assemble(t, src, flashBase), flashBase)
			m.IPSR, m.FAULTMASK = c.ipsr, c.faultmask
			m.BusFaultIgnoreNeg, m.StackLimitIgnoreNeg = c.bus, c.stk
			m.MSPLIM = m.R[13] - 8 // the push goes 16 bytes down
			m.run(t)
			if got := len(m.h.faults) == 0; got != c.want {
				t.Fatalf("faults %+v, want none: %v", m.h.faults, c.want)
			}
			if c.want && (m.R[1] != 0 || m.R[13] != ramBase+ramSize-16) {
				t.Fatalf("r1 %#x (the ignored load reads zero), sp %#x", m.R[1], m.R[13])
			}
			if !c.want && c.bus && !c.stk && m.h.faults[0].Kind != FaultStackOverflow {
				t.Fatalf("fault %+v, want the stack limit's", m.h.faults[0])
			}
		})
	}
}
