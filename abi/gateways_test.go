package abi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
)

// specGateways is the table of spec/firmware.md ("System calls are
// secure-gateway entry points"), address and name, in address order. The
// spec lives outside the repository, so the test keeps its own copy.
const specGateways = `
0x0C1FE001 mvEnableFastInterrupt        0x0C1FE009 mvWriteChannelStream
0x0C1FE011 mvGetMicroseconds            0x0C1FE019 mvGetSysClk
0x0C1FE021 mvDisableAllFastInterrupts   0x0C1FE029 mvGetDeviceId
0x0C1FE031 mvWriteChannel               0x0C1FE039 mvGetWallTime
0x0C1FE041 mvRequestNetwork             0x0C1FE049 mvGetChannelClosureReason
0x0C1FE051 mvCloseNotifications         0x0C1FE059 mvSetFastInterrupt
0x0C1FE061 mvTemporaryStructTest        0x0C1FE069 mvDisableFastInterrupt
0x0C1FE071 mvReadChannelComplete        0x0C1FE079 mvClearFastInterrupt
0x0C1FE081 mvSetupNotifications         0x0C1FE089 mvGetPClk1
0x0C1FE091 mvGetPClk2                   0x0C1FE099 mvEnableAllFastInterrupts
0x0C1FE0A9 mvPeriphPoke32               0x0C1FE0B1 mvReadChannel
0x0C1FE0B9 mvGetHClk                    0x0C1FE0C1 mvOpenChannel
0x0C1FE0C9 mvGetNetworkReasons          0x0C1FE0D1 mvReleaseNetwork
0x0C1FE0D9 mvNoOp                       0x0C1FE0E1 mvTempTriggerNotification
0x0C1FE0E9 mvGetNetworkStatus           0x0C1FE0F1 mvPeriphPeek32
0x0C1FE0F9 mvCloseChannel               0x0C1FE101 mvSendHttpRequest
0x0C1FE109 mvReadHttpResponseBody       0x0C1FE111 mvReadHttpResponseHeader
0x0C1FE119 mvReadHttpResponseData       0x0C1FE121 mvServerLoggingInit
0x0C1FE129 mvServerLog                  0x0C1FE131 mvSendConfigFetchRequest
0x0C1FE139 mvReadConfigFetchResponseData 0x0C1FE141 mvReadConfigResponseItem
0x0C1FE149 mvMqttReadUnsubscribeResponse 0x0C1FE151 mvMqttAcknowledgeMessage
0x0C1FE159 mvMqttReadDisconnectResponse 0x0C1FE161 mvMqttRequestDisconnect
0x0C1FE169 mvMqttReadConnectResponse    0x0C1FE171 mvMqttRequestPublish
0x0C1FE179 mvMqttRequestSubscribe       0x0C1FE181 mvMqttReadPublishResponse
0x0C1FE189 mvMqttReceiveLostMessageInfo 0x0C1FE191 mvMqttReceiveMessage
0x0C1FE199 mvMqttGetNextReadableDataType 0x0C1FE1A1 mvMqttRequestUnsubscribe
0x0C1FE1A9 mvMqttRequestConnect         0x0C1FE1B1 mvMqttReadSubscribeResponse
0x0C1FE1B9 mvTestingComplete            0x0C1FE1C1 mvTestLog
0x0C1FE1C9 mvTestLoggingInit            0x0C1FE1D1 mvPowerSave
0x0C1FE1D9 mvSystemLedEnable            0x0C1FE1E1 mvOpenSystemNotification
0x0C1FE1E9 mvCloseSystemNotification    0x0C1FE1F1 mvDeepSleep
0x0C1FE1F9 mvGetWakeReason              0x0C1FE201 mvRestart
0x0C1FE209 mvExternalFlashClose         0x0C1FE211 mvExternalFlashGetInfo
0x0C1FE219 mvExternalFlashWriteBlocking 0x0C1FE221 mvExternalFlashOpen
0x0C1FE229 mvExternalFlashEraseBlocking 0x0C1FE231 mvExternalFlashReadBlocking
0x0C1FE241 mvSetWifiConfig              0x0C1FE249 mvGetWifiConfig
`

func TestGatewaysMatchSpec(t *testing.T) {
	f := strings.Fields(specGateways)
	var want []string
	for i := 0; i+1 < len(f); i += 2 {
		want = append(want, f[i]+" "+f[i+1])
	}
	var have []string
	for _, g := range abi.Gateways() {
		have = append(have, fmt.Sprintf("0x%08X %s", g.Addr, g.Name))
	}
	if len(want) != 72 {
		t.Fatalf("golden list has %d entries, spec/firmware.md has 72", len(want))
	}
	if strings.Join(have, "\n") != strings.Join(want, "\n") {
		t.Errorf("gateways differ from spec/firmware.md:\nhave\n%s\nwant\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
}

func TestGatewayEveryCallOnce(t *testing.T) {
	count := map[string]int{}
	for _, g := range abi.Gateways() {
		count[g.Name]++
		_, inCalls := abi.LookupCall(g.Name)
		if g.Declared != inCalls {
			t.Errorf("%s: Declared = %v, in abi.Calls = %v", g.Name, g.Declared, inCalls)
		}
		if !inCalls && g.Name != abi.TemporaryStructTest {
			t.Errorf("gateway %s is not a call of abi.Calls", g.Name)
		}
	}
	for _, c := range abi.Calls() {
		if count[c.Name] != 1 {
			t.Errorf("%s has %d gateways, want 1", c.Name, count[c.Name])
		}
	}
	if count[abi.TemporaryStructTest] != 1 {
		t.Errorf("%s has %d gateways, want 1", abi.TemporaryStructTest, count[abi.TemporaryStructTest])
	}
	if n := len(abi.Gateways()); n != len(abi.Calls())+1 {
		t.Errorf("%d gateways for %d calls, want calls+1", n, len(abi.Calls()))
	}
}

func TestGatewayAddresses(t *testing.T) {
	prev := uint32(0)
	for _, g := range abi.Gateways() {
		a := g.Addr &^ 1
		switch {
		case g.Addr&1 != 1:
			t.Errorf("%s at %#x: Thumb bit clear", g.Name, g.Addr)
		case a < abi.GatewayBase || a >= abi.GatewayEnd:
			t.Errorf("%s at %#x: outside [%#x, %#x)", g.Name, g.Addr, abi.GatewayBase, abi.GatewayEnd)
		case (a-abi.GatewayBase)%abi.GatewayStride != 0:
			t.Errorf("%s at %#x: not on an %d-byte boundary", g.Name, g.Addr, abi.GatewayStride)
		case prev != 0 && a <= prev:
			t.Errorf("%s at %#x: not after the previous gateway %#x", g.Name, g.Addr, prev)
		}
		if g.Slot() != int((a-abi.GatewayBase)/abi.GatewayStride) {
			t.Errorf("%s: Slot %d", g.Name, g.Slot())
		}
		prev = a
	}
}

func TestGatewayLookup(t *testing.T) {
	for _, g := range abi.Gateways() {
		for _, pc := range []uint32{g.Addr, g.Addr &^ 1} {
			if h, ok := abi.GatewayAt(pc); !ok || h != g {
				t.Errorf("GatewayAt(%#x) = %+v, %v; want %+v", pc, h, ok, g)
			}
		}
		if h, ok := abi.GatewayFor(g.Name); !ok || h != g {
			t.Errorf("GatewayFor(%q) = %+v, %v", g.Name, h, ok)
		}
		for _, off := range []uint32{2, 4, 6} {
			if h, ok := abi.GatewayAt(g.Addr&^1 + off); ok {
				t.Errorf("GatewayAt(%#x), inside %s's veneer, = %s", g.Addr&^1+off, g.Name, h.Name)
			}
		}
	}
	for _, pc := range []uint32{0x0C1FE0A0, 0x0C1FE0A1, 0x0C1FE238, abi.GatewayBase - 8, abi.GatewayEnd, 0, 0x08000000, 0xFFFFFFF8} {
		if h, ok := abi.GatewayAt(pc); ok {
			t.Errorf("GatewayAt(%#x) = %s, want none", pc, h.Name)
		}
	}
	if !abi.InGatewayArea(0x0C1FE0A0) || abi.InGatewayArea(abi.GatewayEnd) || abi.InGatewayArea(abi.GatewayBase-1) {
		t.Error("InGatewayArea bounds")
	}
	if _, ok := abi.GatewayFor("mvNoSuchCall"); ok {
		t.Error("GatewayFor(mvNoSuchCall) found something")
	}
	g, _ := abi.GatewayFor("mvSendHttpRequest")
	if g.Addr != 0x0C1FE101 || g.Slot() != 32 {
		t.Errorf("mvSendHttpRequest = %#x slot %d", g.Addr, g.Slot())
	}
}

func BenchmarkGatewayAt(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, ok := abi.GatewayAt(0x0C1FE101); !ok {
			b.Fatal("not found")
		}
	}
}
