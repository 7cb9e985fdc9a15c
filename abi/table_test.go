package abi_test

import (
	"math/bits"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
)

// TestTableShape checks the enum table against spec/abi.md: the types, their
// sizes, member counts, naming rules and unique values.
func TestTableShape(t *testing.T) {
	wantCount := map[string]int{
		"MvStatus": 39, "MvEventType": 6, "MvNetworkStatus": 4, "MvNetworkReason": 12,
		"MvChannelType": 4, "MvClosureReason": 8, "MvHttpResult": 7,
		"MvConfigKeyFetchScope": 2, "MvConfigKeyFetchStore": 2, "MvConfigFetchResult": 2,
		"MvConfigKeyFetchResult": 3, "MvMqttReadableDataType": 8, "MvMqttProtocolVersion": 2,
		"MvMqttAuthenticationMethod": 2, "MvMqttRequestState": 9, "MvMqttLostMessageReason": 1,
		"MvSystemNotificationSource": 2, "MvPowerSavingMode": 5, "MvDeepSleepMode": 2,
		"MvWakeReason": 17, "MvRestartMode": 1, "MvWifiConfigMode": 2,
	}
	short := map[string]bool{
		"MvMqttAuthenticationMethod": true, "MvPowerSavingMode": true,
		"MvDeepSleepMode": true, "MvWakeReason": true, "MvWifiConfigMode": true,
	}
	enums := abi.Enums()
	if len(enums) != len(wantCount) {
		t.Errorf("%d enum types, want %d", len(enums), len(wantCount))
	}
	for _, e := range enums {
		if n, ok := wantCount[e.CName]; !ok || n != len(e.Members) {
			t.Errorf("%s: %d members, want %d", e.CName, len(e.Members), n)
		}
		if wantSize := map[bool]int{true: 1, false: 4}[short[e.CName]]; e.Size != wantSize {
			t.Errorf("%s: size %d, want %d", e.CName, e.Size, wantSize)
		}
		if e.BitField != (e.CName == "MvNetworkReason") {
			t.Errorf("%s: bit field %v", e.CName, e.BitField)
		}
		if e.Doc == "" {
			t.Errorf("%s: no description", e.CName)
		}
		if !strings.EqualFold(strings.TrimPrefix(e.CName, "Mv"), e.GoName) {
			t.Errorf("%s: Go name %s", e.CName, e.GoName)
		}
		seen := map[uint32]string{}
		for _, m := range e.Members {
			checkMember(t, e, m)
			if prev, dup := seen[m.Value]; dup {
				t.Errorf("%s and %s share value %#x", prev, m.CName, m.Value)
			}
			seen[m.Value] = m.CName
		}
	}
}

func checkMember(t *testing.T, e abi.EnumType, m abi.EnumMember) {
	t.Helper()
	cs, okC := strings.CutPrefix(m.CName, e.CPrefix())
	gs, okG := strings.CutPrefix(m.GoName, e.GoName)
	if !okC || !okG || strings.ReplaceAll(cs, "_", "") != strings.ToUpper(gs) {
		t.Errorf("%s: names %s / %s break the naming rule", e.CName, m.CName, m.GoName)
	}
	if m.Doc == "" {
		t.Errorf("%s: no description", m.CName)
	}
	if m.Value > e.MaxSentinel() || m.Value == e.MaxSentinel() {
		t.Errorf("%s = %#x does not fit below the sentinel %#x", m.CName, m.Value, e.MaxSentinel())
	}
	if e.BitField && m.Value != 0 && bits.OnesCount32(m.Value) != 1 {
		t.Errorf("%s = %#x is not a single bit", m.CName, m.Value)
	}
}

func TestStatusValuesAreDense(t *testing.T) {
	for _, e := range abi.Enums() {
		if e.CName != "MvStatus" {
			continue
		}
		for i, m := range e.Members {
			if m.Value != uint32(i) {
				t.Errorf("%s = %#x, want %#x", m.CName, m.Value, i)
			}
		}
	}
}

func TestEnumsIsACopy(t *testing.T) {
	a := abi.Enums()
	a[0].Members[0].CName = "CHANGED"
	a[0].CName = "CHANGED"
	if b := abi.Enums(); b[0].CName != "MvStatus" || b[0].Members[0].CName != "MV_STATUS_OKAY" {
		t.Error("changing the result of Enums changed the table")
	}
}

// TestRequiredNames pins the Go names and values other packages are written
// against (a rename here breaks them, so it must be deliberate).
func TestRequiredNames(t *testing.T) {
	statuses := []abi.Status{
		abi.StatusOkay, abi.StatusTimeNotSet, abi.StatusParameterFault, abi.StatusInvalidBufferSize,
		abi.StatusPeripheralAccessFault, abi.StatusBufferAlreadyInUse, abi.StatusInvalidInterrupt,
		abi.StatusInvalidHandle, abi.StatusTooManyNotificationBuffers, abi.StatusInvalidVector,
		abi.StatusUnavailable, abi.StatusUnsupportedStructureVersion, abi.StatusTooManyChannels,
		abi.StatusUnknownChannelEndpoint, abi.StatusUnknownChannelType, abi.StatusChannelClosed,
		abi.StatusNetworkNotConnected, abi.StatusRateLimited, abi.StatusInvalidBufferAlignment,
		abi.StatusLateFault, abi.StatusResponseNotPresent, abi.StatusIndexInvalid,
		abi.StatusOffsetInvalid, abi.StatusRequestAlreadySent, abi.StatusRequestUnsuccessful,
		abi.StatusLogMessageTooLong, abi.StatusLoggingDisabledByServer, abi.StatusTooManyConfigKeys,
		abi.StatusUnknownConfigStore, abi.StatusUnknownConfigScope, abi.StatusInvalidConfigKey,
		abi.StatusInvalidAuthentication, abi.StatusWrongDataRequested, abi.StatusInternalError,
		abi.StatusTooManyElements, abi.StatusRequiredElementMissing, abi.StatusMicrovisorBusy,
		abi.StatusAddressOutOfRange, abi.StatusInputTooLong,
	}
	for i, s := range statuses {
		if uint32(s) != uint32(i) {
			t.Errorf("%v = %#x, want %#x", s, uint32(s), i)
		}
	}
	seq := func(name string, vs ...uint32) {
		for i, v := range vs {
			if v != uint32(i) {
				t.Errorf("%s[%d] = %d", name, i, v)
			}
		}
	}
	seq("EventType", uint32(abi.EventTypeNoEvent), uint32(abi.EventTypeNetworkStatusChanged),
		uint32(abi.EventTypeChannelDataReadable), uint32(abi.EventTypeChannelDataWriteSpace),
		uint32(abi.EventTypeChannelNotConnected), uint32(abi.EventTypeUpdateDownloaded))
	seq("NetworkStatus", uint32(abi.NetworkStatusDeliberatelyOffline), uint32(abi.NetworkStatusConnected),
		uint32(abi.NetworkStatusConnecting), uint32(abi.NetworkStatusDisconnectedWithLinkUp))
	seq("ChannelType", uint32(abi.ChannelTypeOpaqueBytes), uint32(abi.ChannelTypeMQTT),
		uint32(abi.ChannelTypeHTTP), uint32(abi.ChannelTypeConfigFetch))
	seq("ClosureReason", uint32(abi.ClosureReasonNone), uint32(abi.ClosureReasonChannelClosedByServer),
		uint32(abi.ClosureReasonChannelResetByServer), uint32(abi.ClosureReasonNetworkDisconnected),
		uint32(abi.ClosureReasonConnectionTerminated), uint32(abi.ClosureReasonNotYetOpen),
		uint32(abi.ClosureReasonClosedByApplication), uint32(abi.ClosureReasonUnexpectedlyTerminated))
	seq("HTTPResult", uint32(abi.HTTPResultOK), uint32(abi.HTTPResultUnsupportedURIScheme),
		uint32(abi.HTTPResultUnsupportedMethod), uint32(abi.HTTPResultInvalidHeaders),
		uint32(abi.HTTPResultInvalidTimeout), uint32(abi.HTTPResultRequestFailed),
		uint32(abi.HTTPResultResponseTooLarge))
	reasons := []abi.NetworkReason{
		abi.NetworkReasonNotConnecting, abi.NetworkReasonUsingNetwork, abi.NetworkReasonNeverUsedNetworkAPI,
		abi.NetworkReasonMinimumCheckinExpired, abi.NetworkReasonRTCNotSet, abi.NetworkReasonKernelError,
		abi.NetworkReasonApplicationError, abi.NetworkReasonColdBootConnection, abi.NetworkReasonFetchingUpdate,
		abi.NetworkReasonDebuggerAttached, abi.NetworkReasonNoApplicationCode, abi.NetworkReasonEnhanceCalm,
	}
	want := []abi.NetworkReason{0, 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80, 0x100, 0x200, 0x800}
	for i := range reasons {
		if reasons[i] != want[i] {
			t.Errorf("NetworkReason %d = %#x, want %#x", i, uint32(reasons[i]), uint32(want[i]))
		}
	}
	if abi.MQTTRequestStateRequestCompleted != 0 || abi.MQTTReadableDataTypeMessageReceived != 1 ||
		abi.MQTTProtocolVersionV5 != 1 || abi.WakeReasonDeepSleepOther != 0x10 {
		t.Error("MQTT / wake-reason constants moved")
	}
	var one abi.MQTTAuthenticationMethod = 0xff // 1-byte types are uint8
	var _ abi.PowerSavingMode = 0xff
	var _ abi.DeepSleepMode = 0xff
	var _ abi.WakeReason = 0xff
	var _ abi.WifiConfigMode = 0xff
	_ = one
}

func TestString(t *testing.T) {
	cases := []struct {
		got  interface{ String() string }
		want string
	}{
		{abi.StatusParameterFault, "MV_STATUS_PARAMETERFAULT"},
		{abi.StatusInputTooLong, "MV_STATUS_INPUTTOOLONG"},
		{abi.Status(0x99), "MvStatus(0x99)"},
		{abi.EventTypeChannelDataReadable, "MV_EVENTTYPE_CHANNELDATAREADABLE"},
		{abi.HTTPResultOK, "MV_HTTPRESULT_OK"},
		{abi.MQTTProtocolVersionV311, "MV_MQTTPROTOCOLVERSION_V3_1_1"},
		{abi.WakeReasonDeepSleepOther, "MV_WAKEREASON_DEEPSLEEPOTHER"},
		{abi.WakeReason(0x11), "MvWakeReason(0x11)"},
		{abi.NetworkReasonNotConnecting, "MV_NETWORKREASON_NOTCONNECTING"},
		{abi.NetworkReasonEnhanceCalm, "MV_NETWORKREASON_ENHANCECALM"},
		{abi.NetworkReasonUsingNetwork | abi.NetworkReasonRTCNotSet, "MV_NETWORKREASON_USINGNETWORK|MV_NETWORKREASON_RTCNOTSET"},
		{abi.NetworkReasonUsingNetwork | 0x400 | 0x8000, "MV_NETWORKREASON_USINGNETWORK|MvNetworkReason(0x8400)"},
		{abi.NetworkReason(0x400), "MvNetworkReason(0x400)"},
	}
	for _, c := range cases {
		if s := c.got.String(); s != c.want {
			t.Errorf("String() = %q, want %q", s, c.want)
		}
	}
}
