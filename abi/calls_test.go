package abi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
)

// specCalls are the calls spec/abi.md, "Calls and the statuses each may
// return", names.
var specCalls = strings.Fields(`
	mvGetMicroseconds mvGetWallTime mvGetDeviceId
	mvSetupNotifications mvCloseNotifications
	mvRequestNetwork mvReleaseNetwork mvGetNetworkStatus mvGetNetworkReasons
	mvOpenChannel mvCloseChannel mvGetChannelClosureReason
	mvReadChannel mvReadChannelComplete mvWriteChannel mvWriteChannelStream
	mvSendHttpRequest mvReadHttpResponseData mvReadHttpResponseHeader mvReadHttpResponseBody
	mvServerLoggingInit mvServerLog
	mvSendConfigFetchRequest mvReadConfigFetchResponseData mvReadConfigResponseItem
	mvMqttGetNextReadableDataType mvMqttRequestConnect mvMqttReadConnectResponse
	mvMqttRequestSubscribe mvMqttReadSubscribeResponse mvMqttRequestUnsubscribe
	mvMqttReadUnsubscribeResponse mvMqttRequestPublish mvMqttReadPublishResponse
	mvMqttReceiveMessage mvMqttReceiveLostMessageInfo mvMqttAcknowledgeMessage
	mvMqttRequestDisconnect mvMqttReadDisconnectResponse`)

// otherCalls are the remaining functions of the published STM32U585 header.
var otherCalls = strings.Fields(`
	mvNoOp mvGetSysClk mvGetHClk mvGetPClk1 mvGetPClk2
	mvPeriphPeek32 mvPeriphPoke32 mvTempTriggerNotification
	mvSetFastInterrupt mvClearFastInterrupt mvEnableFastInterrupt mvDisableFastInterrupt
	mvDisableAllFastInterrupts mvEnableAllFastInterrupts
	mvTestingComplete mvTestLoggingInit mvTestLog
	mvPowerSave mvSystemLedEnable mvOpenSystemNotification mvCloseSystemNotification
	mvDeepSleep mvGetWakeReason mvRestart
	mvExternalFlashOpen mvExternalFlashClose mvExternalFlashReadBlocking
	mvExternalFlashEraseBlocking mvExternalFlashWriteBlocking mvExternalFlashGetInfo
	mvSetWifiConfig mvGetWifiConfig`)

func TestCallsAreTheHeaders(t *testing.T) {
	calls := abi.Calls()
	if len(specCalls) != 39 || len(otherCalls) != 32 {
		t.Fatalf("transcribed %d spec calls and %d others", len(specCalls), len(otherCalls))
	}
	var net, other []string
	seen := map[string]bool{}
	for _, c := range calls {
		if seen[c.Name] {
			t.Errorf("%s listed twice", c.Name)
		}
		seen[c.Name] = true
		if c.Network {
			net = append(net, c.Name)
		} else {
			other = append(other, c.Name)
		}
		if c.Deprecated != slices.Contains([]string{"mvReadChannel", "mvReadChannelComplete", "mvWriteChannel", "mvWriteChannelStream"}, c.Name) {
			t.Errorf("%s: deprecated %v", c.Name, c.Deprecated)
		}
		if got, ok := abi.LookupCall(c.Name); !ok || got.Name != c.Name {
			t.Errorf("LookupCall(%s) = %v, %v", c.Name, got.Name, ok)
		}
	}
	slices.Sort(net)
	slices.Sort(other)
	if want := slices.Sorted(slices.Values(specCalls)); !slices.Equal(net, want) {
		t.Errorf("network calls %v\nspec lists %v", net, want)
	}
	if want := slices.Sorted(slices.Values(otherCalls)); !slices.Equal(other, want) {
		t.Errorf("other calls %v\nwant %v", other, want)
	}
	if _, ok := abi.LookupCall("mvNoSuch"); ok {
		t.Error("LookupCall found mvNoSuch")
	}
}

// TestCallSignatures checks that every parameter type names a C scalar, a
// structure, an enum or a handle type the header declares, and that every
// call's statuses are real failures.
func TestCallSignatures(t *testing.T) {
	known := map[string]bool{"uint8_t": true, "uint16_t": true, "uint32_t": true, "uint64_t": true}
	for _, s := range abi.StructDecls() {
		known["struct "+s.Name] = true
	}
	for _, e := range abi.Enums() {
		known["enum "+e.CName] = true
	}
	for _, h := range abi.Handles() {
		known[h.Name] = true
	}
	for _, c := range abi.Calls() {
		if c.Return != "enum MvStatus" {
			t.Errorf("%s returns %q", c.Name, c.Return)
		}
		if c.Doc == "" || strings.ContainsAny(c.Doc, "|") || strings.Contains(c.Doc, "*/") {
			t.Errorf("%s: doc %q is empty or cannot go into Markdown and C comments", c.Name, c.Doc)
		}
		if c.Family == "" {
			t.Errorf("%s: no family", c.Name)
		}
		names := map[string]bool{}
		for _, p := range c.Params {
			if base := baseType(p.CType); !known[base] {
				t.Errorf("%s(%s): unknown type %q", c.Name, p.Name, base)
			}
			if p.Name == "" || names[p.Name] {
				t.Errorf("%s: parameter name %q empty or repeated", c.Name, p.Name)
			}
			names[p.Name] = true
		}
		seen := map[abi.Status]bool{}
		for _, s := range c.Statuses {
			if s == abi.StatusOkay || strings.HasPrefix(s.String(), "MvStatus(") || seen[s] {
				t.Errorf("%s: status %v is success, unknown or repeated", c.Name, s)
			}
			seen[s] = true
		}
	}
}

// baseType strips const and pointer stars: "const struct MvX *" is
// "struct MvX".
func baseType(ctype string) string {
	return strings.TrimSpace(strings.TrimRight(strings.TrimPrefix(ctype, "const "), "* "))
}

// TestEverythingIsUsed checks that every structure, enum and handle type of
// the header is reachable from some call's parameters (directly, by
// nesting or through a pointer field), so the extra structures are exactly
// those the non-network calls need.
func TestEverythingIsUsed(t *testing.T) {
	used := map[string]bool{"enum MvStatus": true}
	decls := map[string]abi.StructDecl{}
	for _, s := range abi.StructDecls() {
		decls["struct "+s.Name] = s
	}
	var visit func(string)
	visit = func(ctype string) {
		base := baseType(ctype)
		if used[base] {
			return
		}
		used[base] = true
		var walk func([]abi.FieldDecl)
		walk = func(fs []abi.FieldDecl) {
			for _, f := range fs {
				switch f.Kind {
				case abi.KindUnion:
					walk(f.Members)
				case abi.KindStruct:
					visit("struct " + f.CType)
				default:
					visit(f.CType)
				}
			}
		}
		if d, ok := decls[base]; ok {
			walk(d.Fields)
		}
	}
	for _, c := range abi.Calls() {
		for _, p := range c.Params {
			visit(p.CType)
		}
	}
	for name := range decls {
		if !used[name] {
			t.Errorf("%s is not used by any call", name)
		}
	}
	for _, e := range abi.Enums() {
		if !used["enum "+e.CName] {
			t.Errorf("enum %s is not used by any call or structure", e.CName)
		}
	}
	for _, h := range abi.Handles() {
		if !used[h.Name] {
			t.Errorf("handle %s is not used", h.Name)
		}
	}
}

// TestStructDocs checks that every structure and field is described, in
// text that fits a C comment and a Markdown table.
func TestStructDocs(t *testing.T) {
	var check func(string, []abi.FieldDecl)
	check = func(where string, fs []abi.FieldDecl) {
		for _, f := range fs {
			if f.Doc == "" || strings.Contains(f.Doc, "*/") || strings.Contains(f.Doc, "|") {
				t.Errorf("%s.%s: doc %q", where, f.Name, f.Doc)
			}
			check(where+"."+f.Name, f.Members)
		}
	}
	for _, s := range abi.StructDecls() {
		if s.Doc == "" || strings.Contains(s.Doc, "*/") {
			t.Errorf("%s: doc %q", s.Name, s.Doc)
		}
		check(s.Name, s.Fields)
	}
}
