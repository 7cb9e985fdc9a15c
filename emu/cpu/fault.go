package cpu

// The architectural consequences of each FaultKind: the exception it
// raises and the CFSR bits it sets. The machine (package emu) and the
// conformance harness both read them here.

// Exception numbers of the configurable faults (ARMv8-M ARM, "Exception
// numbers").
const (
	ExcMemManage  = 4
	ExcBusFault   = 5
	ExcUsageFault = 6
)

// CFSR bits the core's faults set (ARMv8-M ARM, "Configurable Fault
// Status Register": MMFSR in bits 0-7 with MMARVALID, BFSR in 8-15 with
// BFARVALID, UFSR in 16-25).
const (
	CFSRIAccViol   = 1 << 0
	CFSRDAccViol   = 1 << 1
	CFSRMMARValid  = 1 << 7
	CFSRIBusErr    = 1 << 8
	CFSRPreciseErr = 1 << 9
	CFSRBFARValid  = 1 << 15
	CFSRUndefInstr = 1 << 16
	CFSRInvState   = 1 << 17
	CFSRInvPC      = 1 << 18
	CFSRNoCP       = 1 << 19
	CFSRStkOf      = 1 << 20
	CFSRUnaligned  = 1 << 24
	CFSRDivByZero  = 1 << 25
)

var faultTable = [...]struct {
	exc  int
	cfsr uint32
}{
	FaultUndefined:     {ExcUsageFault, CFSRUndefInstr},
	FaultInvState:      {ExcUsageFault, CFSRInvState},
	FaultInvPC:         {ExcUsageFault, CFSRInvPC},
	FaultNoCP:          {ExcUsageFault, CFSRNoCP},
	FaultStackOverflow: {ExcUsageFault, CFSRStkOf},
	FaultUnaligned:     {ExcUsageFault, CFSRUnaligned},
	FaultDivByZero:     {ExcUsageFault, CFSRDivByZero},
	FaultPreciseData:   {ExcBusFault, CFSRPreciseErr | CFSRBFARValid},
	FaultInstrBus:      {ExcBusFault, CFSRIBusErr},
	FaultInstrAccess:   {ExcMemManage, CFSRIAccViol},
	FaultDataAccess:    {ExcMemManage, CFSRDAccViol | CFSRMMARValid},
}

// Exception is the exception number fault kind k raises (UsageFault for
// a kind it does not know, as UNDEFINSTR).
func (k FaultKind) Exception() int {
	if int(k) < len(faultTable) && faultTable[k].exc != 0 {
		return faultTable[k].exc
	}
	return ExcUsageFault
}

// CFSR is the CFSR bits fault kind k sets (UNDEFINSTR for a kind it
// does not know).
func (k FaultKind) CFSR() uint32 {
	if int(k) < len(faultTable) && faultTable[k].exc != 0 {
		return faultTable[k].cfsr
	}
	return CFSRUndefInstr
}
