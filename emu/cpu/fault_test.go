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
