package abi

import "sort"

// This file places each system call at its secure-gateway entry point: on
// the device, an application calls Microvisor through an 8-byte
// non-secure-callable veneer at a fixed address, and the emulator (emu/)
// traps execution at those addresses. The addresses are facts of
// Microvisor's STM32U585 SDK (spec/firmware.md, "System calls are
// secure-gateway entry points"); nothing else in mvnet states them. The
// linker-script fragment firmware links against (csdk/include/mv_gateways.ld)
// is rendered from this table by go generate ./abi.

// spec/firmware.md: the veneers are 8 bytes apart from GatewayBase; the
// last one listed is at 0x0C1FE249.
const (
	GatewayBase   uint32 = 0x0C1FE000 // address of the first veneer (Thumb bit clear)
	GatewayStride uint32 = 8          // bytes per veneer
	GatewaySlots         = 74         // veneers from GatewayBase to the last one, gaps included
)

// GatewayEnd is the first address after the last veneer.
const GatewayEnd = GatewayBase + GatewaySlots*GatewayStride

// TemporaryStructTest is the one entry point that is not a call of the
// header: Microvisor's symbol table has it (spec/firmware.md), mv_syscalls.h
// does not declare it, and no application may rely on it. mvnet does not
// implement it: the emulator's trap answers it UndeclaredStatus, touching
// nothing but r0.
const TemporaryStructTest = "mvTemporaryStructTest"

// UndeclaredStatus is what a call of an entry point with no call in Calls
// (Gateway.Declared false: TemporaryStructTest) returns in r0.
const UndeclaredStatus = StatusUnavailable

// Gateway is one secure-gateway entry point.
type Gateway struct {
	Name string // the C symbol, e.g. "mvSendHttpRequest"
	// Addr is the symbol's value: the veneer's address with the Thumb bit
	// set, as the SDK's symbol table has it. Execution arrives at Addr&^1.
	Addr uint32
	// Declared is false only for TemporaryStructTest, the entry point
	// with no call in Calls.
	Declared bool
}

// Slot is the gateway's index in the veneer area: (Addr&^1 -
// GatewayBase) / GatewayStride.
func (g Gateway) Slot() int { return int((g.Addr&^1 - GatewayBase) / GatewayStride) }

// gatewayTable lists the entry points in address order; the address is
// GatewayBase + slot*GatewayStride + 1. Slots 0x14 (0x0C1FE0A1) and 0x47
// (0x0C1FE239) hold no symbol in the SDK.
var gatewayTable = [...]struct {
	slot int
	name string
}{
	{0x00, "mvEnableFastInterrupt"},
	{0x01, "mvWriteChannelStream"},
	{0x02, "mvGetMicroseconds"},
	{0x03, "mvGetSysClk"},
	{0x04, "mvDisableAllFastInterrupts"},
	{0x05, "mvGetDeviceId"},
	{0x06, "mvWriteChannel"},
	{0x07, "mvGetWallTime"},
	{0x08, "mvRequestNetwork"},
	{0x09, "mvGetChannelClosureReason"},
	{0x0A, "mvCloseNotifications"},
	{0x0B, "mvSetFastInterrupt"},
	{0x0C, TemporaryStructTest},
	{0x0D, "mvDisableFastInterrupt"},
	{0x0E, "mvReadChannelComplete"},
	{0x0F, "mvClearFastInterrupt"},
	{0x10, "mvSetupNotifications"},
	{0x11, "mvGetPClk1"},
	{0x12, "mvGetPClk2"},
	{0x13, "mvEnableAllFastInterrupts"},
	{0x15, "mvPeriphPoke32"},
	{0x16, "mvReadChannel"},
	{0x17, "mvGetHClk"},
	{0x18, "mvOpenChannel"},
	{0x19, "mvGetNetworkReasons"},
	{0x1A, "mvReleaseNetwork"},
	{0x1B, "mvNoOp"},
	{0x1C, "mvTempTriggerNotification"},
	{0x1D, "mvGetNetworkStatus"},
	{0x1E, "mvPeriphPeek32"},
	{0x1F, "mvCloseChannel"},
	{0x20, "mvSendHttpRequest"},
	{0x21, "mvReadHttpResponseBody"},
	{0x22, "mvReadHttpResponseHeader"},
	{0x23, "mvReadHttpResponseData"},
	{0x24, "mvServerLoggingInit"},
	{0x25, "mvServerLog"},
	{0x26, "mvSendConfigFetchRequest"},
	{0x27, "mvReadConfigFetchResponseData"},
	{0x28, "mvReadConfigResponseItem"},
	{0x29, "mvMqttReadUnsubscribeResponse"},
	{0x2A, "mvMqttAcknowledgeMessage"},
	{0x2B, "mvMqttReadDisconnectResponse"},
	{0x2C, "mvMqttRequestDisconnect"},
	{0x2D, "mvMqttReadConnectResponse"},
	{0x2E, "mvMqttRequestPublish"},
	{0x2F, "mvMqttRequestSubscribe"},
	{0x30, "mvMqttReadPublishResponse"},
	{0x31, "mvMqttReceiveLostMessageInfo"},
	{0x32, "mvMqttReceiveMessage"},
	{0x33, "mvMqttGetNextReadableDataType"},
	{0x34, "mvMqttRequestUnsubscribe"},
	{0x35, "mvMqttRequestConnect"},
	{0x36, "mvMqttReadSubscribeResponse"},
	{0x37, "mvTestingComplete"},
	{0x38, "mvTestLog"},
	{0x39, "mvTestLoggingInit"},
	{0x3A, "mvPowerSave"},
	{0x3B, "mvSystemLedEnable"},
	{0x3C, "mvOpenSystemNotification"},
	{0x3D, "mvCloseSystemNotification"},
	{0x3E, "mvDeepSleep"},
	{0x3F, "mvGetWakeReason"},
	{0x40, "mvRestart"},
	{0x41, "mvExternalFlashClose"},
	{0x42, "mvExternalFlashGetInfo"},
	{0x43, "mvExternalFlashWriteBlocking"},
	{0x44, "mvExternalFlashOpen"},
	{0x45, "mvExternalFlashEraseBlocking"},
	{0x46, "mvExternalFlashReadBlocking"},
	{0x48, "mvSetWifiConfig"},
	{0x49, "mvGetWifiConfig"},
}

// gatewayBySlot is the trap's O(1) lookup: the gateway at each slot, Name
// "" for the two empty slots. Built once from gatewayTable.
var gatewayBySlot = func() (t [GatewaySlots]Gateway) {
	for _, e := range gatewayTable {
		_, declared := LookupCall(e.name)
		t[e.slot] = Gateway{Name: e.name, Addr: GatewayBase + uint32(e.slot)*GatewayStride | 1, Declared: declared}
	}
	return t
}()

// Gateways returns every entry point in address order (72: the 71 calls of
// the header and TemporaryStructTest).
func Gateways() []Gateway {
	out := make([]Gateway, 0, len(gatewayTable))
	for _, g := range gatewayBySlot {
		if g.Name != "" {
			out = append(out, g)
		}
	}
	return out
}

// GatewayAt returns the entry point whose veneer starts at pc (the Thumb
// bit is ignored): the emulator's trap, in constant time. ok is false for
// any other address, including the inside of a veneer and the two empty
// slots.
func GatewayAt(pc uint32) (g Gateway, ok bool) {
	a := pc &^ 1
	if a < GatewayBase || a >= GatewayEnd || (a-GatewayBase)%GatewayStride != 0 {
		return Gateway{}, false
	}
	g = gatewayBySlot[(a-GatewayBase)/GatewayStride]
	return g, g.Name != ""
}

// InGatewayArea reports whether addr lies in the veneer area
// [GatewayBase, GatewayEnd): execution there that GatewayAt does not
// recognise is a jump into the middle of, or between, veneers.
func InGatewayArea(addr uint32) bool { return addr >= GatewayBase && addr < GatewayEnd }

// GatewayFor returns the entry point of the named call (or of
// TemporaryStructTest).
func GatewayFor(name string) (Gateway, bool) {
	i := sort.Search(len(gatewayNames), func(i int) bool { return gatewayNames[i].Name >= name })
	if i < len(gatewayNames) && gatewayNames[i].Name == name {
		return gatewayNames[i], true
	}
	return Gateway{}, false
}

// gatewayNames is Gateways sorted by name, for GatewayFor.
var gatewayNames = func() []Gateway {
	g := Gateways()
	sort.Slice(g, func(i, j int) bool { return g[i].Name < g[j].Name })
	return g
}()
