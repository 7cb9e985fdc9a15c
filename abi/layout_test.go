package abi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
)

// specField is one "field: dev offset / x64 offset" entry of spec/abi.md.
type specField struct {
	path     string
	dev, x64 int
}

// specStruct is one row of the spec's Structures table.
type specStruct struct {
	name     string
	dev, x64 int // sizes
	fields   []specField
}

func same(path string, off int) specField { return specField{path, off, off} }

// specLayouts is spec/abi.md, "Structures", transcribed row by row.
var specLayouts = []specStruct{
	{"MvNotification", 16, 16, []specField{
		{"microseconds", 0, 0}, {"event_type", 8, 8}, {"tag", 12, 12}}},
	{"MvNotificationSetup", 12, 24, []specField{
		{"irq", 0, 0}, {"buffer", 4, 8}, {"buffer_size", 8, 16}}},
	{"MvRequestNetworkParams", 12, 24, []specField{
		{"version", 0, 0}, {"v1.notification_handle", 4, 8}, {"v1.notification_tag", 8, 16}}},
	{"MvSizedString", 8, 16, []specField{
		{"data", 0, 0}, {"length", 4, 8}}},
	{"MvOpenChannelParams", 44, 80, []specField{
		{"version", 0, 0}, {"v1.notification_handle", 4, 8}, {"v1.notification_tag", 8, 16},
		{"v1.network_handle", 12, 24}, {"v1.receive_buffer", 16, 32}, {"v1.receive_buffer_len", 20, 40},
		{"v1.send_buffer", 24, 48}, {"v1.send_buffer_len", 28, 56}, {"v1.channel_type", 32, 60},
		{"v1.endpoint", 36, 64}}},
	{"MvHttpHeader", 8, 16, []specField{
		{"length", 0, 0}, {"data", 4, 8}}},
	{"MvHttpRequest", 36, 72, []specField{
		{"method", 0, 0}, {"url", 8, 16}, {"num_headers", 16, 32}, {"headers", 20, 40},
		{"body", 24, 48}, {"timeout_ms", 32, 64}}},
	{"MvHttpResponseData", 16, 16, []specField{
		same("result", 0), same("status_code", 4), same("num_headers", 8), same("body_length", 12)}},
	{"MvConfigKeyToFetch", 16, 24, []specField{
		{"scope", 0, 0}, {"store", 4, 4}, {"key", 8, 8}}},
	{"MvConfigKeyFetchParams", 8, 16, []specField{
		{"num_items", 0, 0}, {"keys_to_fetch", 4, 8}}},
	{"MvConfigResponseData", 8, 8, []specField{
		same("result", 0), same("num_items", 4)}},
	{"MvSizedStringBuffer", 12, 24, []specField{
		{"data", 0, 0}, {"size", 4, 8}, {"length", 8, 16}}},
	{"MvConfigResponseReadItemParams", 20, 40, []specField{
		{"item_index", 0, 0}, {"result", 4, 8}, {"buf", 8, 16}}},
	{"MvUsernamePassword", 16, 32, []specField{
		{"username", 0, 0}, {"password", 8, 16}}},
	{"MvMqttAuthentication", 20, 40, []specField{
		{"method", 0, 0}, {"username_password", 4, 8}}},
	{"MvTlsCertificateChain", 8, 16, []specField{
		{"num_certs", 0, 0}, {"certs", 4, 8}}},
	{"MvOwnTlsCertificateChain", 16, 32, []specField{
		{"chain", 0, 0}, {"key", 8, 16}}},
	{"MvTlsCredentials", 24, 48, []specField{
		{"cacert", 0, 0}, {"clientcert", 8, 16}}},
	{"MvMqttWill", 24, 40, []specField{
		{"topic", 0, 0}, {"payload", 8, 16}, {"qos", 16, 32}, {"retain", 20, 36}}},
	{"MvMqttConnectRequest", 60, 112, []specField{
		{"protocol_version", 0, 0}, {"host", 4, 8}, {"port", 12, 24}, {"clientid", 16, 32},
		{"authentication", 24, 48}, {"tls_credentials", 44, 88}, {"keepalive", 48, 96},
		{"clean_start", 52, 100}, {"will", 56, 104}}},
	{"MvMqttConnectResponse", 8, 8, []specField{
		same("request_state", 0), same("reason_code", 4)}},
	{"MvMqttSubscription", 24, 32, []specField{
		{"topic", 0, 0}, {"desired_qos", 8, 16}, {"nl", 12, 20}, {"rap", 16, 24}, {"rh", 20, 28}}},
	{"MvMqttSubscribeRequest", 12, 24, []specField{
		{"correlation_id", 0, 0}, {"subscriptions", 4, 8}, {"num_subscriptions", 8, 16}}},
	{"MvMqttSubscribeResponse", 20, 40, []specField{
		{"request_state", 0, 0}, {"correlation_id", 4, 8}, {"reason_codes", 8, 16},
		{"reason_codes_size", 12, 24}, {"reason_codes_len", 16, 32}}},
	{"MvMqttUnsubscribeRequest", 12, 24, []specField{
		{"correlation_id", 0, 0}, {"topics", 4, 8}, {"num_topics", 8, 16}}},
	// spec: "same shape as MvMqttSubscribeResponse".
	{"MvMqttUnsubscribeResponse", 20, 40, []specField{
		{"request_state", 0, 0}, {"correlation_id", 4, 8}, {"reason_codes", 8, 16},
		{"reason_codes_size", 12, 24}, {"reason_codes_len", 16, 32}}},
	{"MvMqttPublishRequest", 28, 48, []specField{
		{"correlation_id", 0, 0}, {"topic", 4, 8}, {"payload", 12, 24}, {"desired_qos", 20, 40},
		{"retain", 24, 44}}},
	{"MvMqttPublishResponse", 12, 12, []specField{
		same("request_state", 0), same("correlation_id", 4), same("reason_code", 8)}},
	{"MvMqttMessage", 36, 72, []specField{
		{"correlation_id", 0, 0}, {"topic", 4, 8}, {"payload", 16, 32}, {"qos", 28, 56},
		{"retain", 32, 64}}},
	{"MvMqttLostMessageInfo", 20, 40, []specField{
		{"reason", 0, 0}, {"topic", 4, 8}, {"message_len", 16, 32}}},
	{"MvMqttDisconnectResponse", 8, 8, []specField{
		same("request_state", 0), same("disconnect_code", 4)}},
	{"MvOpenSystemNotificationParams", 12, 16, []specField{
		{"notification_handle", 0, 0}, {"notification_tag", 4, 8}, {"notification_source", 8, 12}}},
}

// extraLayouts are the structures the header declares for non-network calls
// only. spec/abi.md does not list them; these numbers are derived by hand
// with the same C rules (the host column is also checked against gcc by
// csdk/internal/hostabi).
var extraLayouts = []specStruct{
	{"MvExternalFlashInfo", 16, 16, []specField{
		same("version", 0), same("v1.chip_id", 4), same("v1.size", 8), same("v1.num_handles", 12)}},
	// config_mode is a 1-byte enum on the device; the union is 8-aligned on x86-64.
	{"MvWifiConfig", 24, 48, []specField{
		{"version", 0, 0}, {"v1.config_mode", 4, 8}, {"v1.wifi_ssid", 8, 16}, {"v1.wifi_password", 16, 32}}},
	{"MvWifiConfigOut", 20, 40, []specField{
		{"version", 0, 0}, {"v1.ssid", 4, 8}, {"v1.has_encryption", 16, 32}}},
}

// allLayouts is every structure of the header: the spec's, then the extras.
func allLayouts() []specStruct { return append(slices.Clone(specLayouts), extraLayouts...) }

func specColumn(a *abi.ABI, s specStruct) (size int, off func(specField) int) {
	if a.PointerSize() == 4 {
		return s.dev, func(f specField) int { return f.dev }
	}
	return s.x64, func(f specField) int { return f.x64 }
}

// TestLayoutsMatchSpec checks every size and offset of the spec, in both
// columns, against the computed Device and X64 ABIs.
func TestLayoutsMatchSpec(t *testing.T) {
	if len(specLayouts) != 32 {
		t.Fatalf("transcribed %d structures, the spec lists 32", len(specLayouts))
	}
	for _, a := range []*abi.ABI{abi.Device, abi.X64} {
		checkAgainstSpec(t, a, specLayouts)
		checkAgainstSpec(t, a, extraLayouts)
	}
}

func checkAgainstSpec(t *testing.T, a *abi.ABI, layouts []specStruct) {
	t.Helper()
	for _, s := range layouts {
		l := a.Struct(s.name)
		if l == nil {
			t.Errorf("%s: no layout for %s", a.Name(), s.name)
			continue
		}
		size, off := specColumn(a, s)
		if l.Size() != size {
			t.Errorf("%s: sizeof %s = %d, spec says %d", a.Name(), s.name, l.Size(), size)
		}
		for _, f := range s.fields {
			got, ok := l.Field(f.path)
			if !ok {
				t.Errorf("%s: %s has no field %s", a.Name(), s.name, f.path)
				continue
			}
			if got.Offset != off(f) {
				t.Errorf("%s: %s.%s at %d, spec says %d", a.Name(), s.name, f.path, got.Offset, off(f))
			}
		}
	}
}

// TestSpecListsEveryField checks that the description has exactly the
// structures and declared fields of the spec plus the extras, nothing
// more, and that only the extras are marked as outside the spec.
func TestSpecListsEveryField(t *testing.T) {
	var names []string
	for _, s := range allLayouts() {
		names = append(names, s.name)
		var want []string
		for _, f := range s.fields {
			want = append(want, f.path)
		}
		if got := abi.DeclaredFields(s.name); !slices.Equal(got, want) {
			t.Errorf("%s: declared fields %v, spec lists %v", s.name, got, want)
		}
	}
	if got := abi.StructNames(); !slices.Equal(got, names) {
		t.Errorf("structures %v, spec lists %v", got, names)
	}
	if n := len(abi.Device.Structs()); n != len(names) {
		t.Errorf("Device has %d structures, want %d", n, len(names))
	}
	var inSpec []string
	for _, d := range abi.StructDecls() {
		if d.InSpec {
			inSpec = append(inSpec, d.Name)
		}
	}
	if want := names[:len(specLayouts)]; !slices.Equal(inSpec, want) {
		t.Errorf("structures marked InSpec %v, spec lists %v", inSpec, want)
	}
}

func TestNestedOffsets(t *testing.T) {
	cases := []struct {
		s, path  string
		dev, x64 int
	}{
		{"MvOpenChannelParams", "v1", 4, 8},
		{"MvOpenChannelParams", "v1.endpoint.data", 36, 64},
		{"MvOpenChannelParams", "v1.endpoint.length", 40, 72},
		{"MvHttpRequest", "body.length", 28, 56},
		{"MvConfigResponseReadItemParams", "buf.length", 16, 32},
		{"MvTlsCredentials", "clientcert.key.length", 20, 40},
		{"MvMqttConnectRequest", "authentication.username_password.password.data", 36, 72},
		{"MvMqttMessage", "payload.length", 24, 48},
	}
	for _, c := range cases {
		if got := abi.Device.Struct(c.s).Offset(c.path); got != c.dev {
			t.Errorf("device %s.%s at %d, want %d", c.s, c.path, got, c.dev)
		}
		if got := abi.X64.Struct(c.s).Offset(c.path); got != c.x64 {
			t.Errorf("x86-64 %s.%s at %d, want %d", c.s, c.path, got, c.x64)
		}
	}
}

func TestKindsAndAlignment(t *testing.T) {
	dev, x64 := abi.Device, abi.X64
	if dev.Name() != "device" || dev.PointerSize() != 4 || !dev.ShortEnums() {
		t.Errorf("Device: %s %d %v", dev.Name(), dev.PointerSize(), dev.ShortEnums())
	}
	if x64.PointerSize() != 8 || x64.ShortEnums() || x64.HandleSize() != 8 || dev.HandleSize() != 4 {
		t.Errorf("X64: %d %v", x64.PointerSize(), x64.ShortEnums())
	}
	m, _ := dev.Struct("MvMqttAuthentication").Field("method")
	if m.Kind != abi.KindEnum8 || m.Size != 1 || m.CType != "enum MvMqttAuthenticationMethod" {
		t.Errorf("device MvMqttAuthentication.method = %+v", m)
	}
	if m, _ := x64.Struct("MvMqttAuthentication").Field("method"); m.Size != 4 {
		t.Errorf("x86-64 MvMqttAuthentication.method size %d, want 4", m.Size)
	}
	h, _ := x64.Struct("MvOpenChannelParams").Field("v1.notification_handle")
	if h.Kind != abi.KindHandle || h.Size != 8 || h.CType != "MvNotificationHandle" {
		t.Errorf("x86-64 notification_handle = %+v", h)
	}
	if al := dev.Struct("MvNotification").Align(); al != 8 {
		t.Errorf("device MvNotification align %d, want 8", al)
	}
	if al := dev.Struct("MvOpenChannelParams").Align(); al != 4 {
		t.Errorf("device MvOpenChannelParams align %d, want 4", al)
	}
	if dev.Struct("MvNoSuch") != nil || abi.DeclaredFields("MvNoSuch") != nil {
		t.Error("unknown structure found")
	}
	if _, ok := dev.Struct("MvSizedString").Field("nope"); ok {
		t.Error("unknown field found")
	}
	defer func() {
		if recover() == nil {
			t.Error("Offset of an unknown field did not panic")
		}
	}()
	dev.Struct("MvSizedString").Offset("nope")
}

// specMaps returns a spec column as NewFromOffsets input.
func specMaps(dev bool) (map[string]int, map[string]map[string]int) {
	sizes := map[string]int{}
	offs := map[string]map[string]int{}
	for _, s := range allLayouts() {
		o := map[string]int{}
		for _, f := range s.fields {
			o[f.path] = f.x64
			if dev {
				o[f.path] = f.dev
			}
		}
		offs[s.name] = o
		sizes[s.name] = s.x64
		if dev {
			sizes[s.name] = s.dev
		}
	}
	if dev {
		sizes["MvMqttAuthenticationMethod"] = 1
	} else {
		sizes["MvStatus"] = 4
	}
	return sizes, offs
}

// TestNewFromOffsets builds both ABIs from the spec's numbers, as the C SDK
// will from cgo's, and checks they agree with the computed ones field by
// field, nested fields included.
func TestNewFromOffsets(t *testing.T) {
	for _, want := range []*abi.ABI{abi.Device, abi.X64} {
		sizes, offs := specMaps(want.PointerSize() == 4)
		got, err := abi.NewFromOffsets("from-spec", want.PointerSize(), sizes, offs)
		if err != nil {
			t.Fatalf("%s: %v", want.Name(), err)
		}
		if got.ShortEnums() != want.ShortEnums() {
			t.Errorf("%s: short enums %v", want.Name(), got.ShortEnums())
		}
		for _, wl := range want.Structs() {
			gl := got.Struct(wl.Name())
			if gl.Size() != wl.Size() || gl.Align() != wl.Align() {
				t.Errorf("%s %s: size/align %d/%d, want %d/%d", want.Name(), wl.Name(), gl.Size(), gl.Align(), wl.Size(), wl.Align())
			}
			if !slices.Equal(gl.Fields(), wl.Fields()) {
				t.Errorf("%s %s: fields\n%v\nwant\n%v", want.Name(), wl.Name(), gl.Fields(), wl.Fields())
			}
		}
	}
}

func TestNewFromOffsetsErrors(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(map[string]int, map[string]map[string]int)
		ptr    int
		errHas string
	}{
		{"missing struct size", func(s map[string]int, _ map[string]map[string]int) { delete(s, "MvHttpHeader") }, 8, "no size for MvHttpHeader"},
		{"missing struct offsets", func(_ map[string]int, o map[string]map[string]int) { delete(o, "MvMqttWill") }, 8, "no offsets for MvMqttWill"},
		{"missing field", func(_ map[string]int, o map[string]map[string]int) { delete(o["MvOpenChannelParams"], "v1.endpoint") }, 8, "v1.endpoint"},
		{"unknown field", func(_ map[string]int, o map[string]map[string]int) { o["MvSizedString"]["len"] = 4 }, 8, `no field "len"`},
		{"unknown struct", func(_ map[string]int, o map[string]map[string]int) { o["MvFoo"] = map[string]int{} }, 8, `"MvFoo"`},
		{"unknown size", func(s map[string]int, _ map[string]map[string]int) { s["MvFoo"] = 4 }, 8, `"MvFoo"`},
		{"overlap", func(_ map[string]int, o map[string]map[string]int) { o["MvHttpHeader"]["data"] = 2 }, 8, "overlaps"},
		{"past the end", func(s map[string]int, _ map[string]map[string]int) { s["MvHttpResponseData"] = 12 }, 8, "past the size"},
		{"bad v1", func(_ map[string]int, o map[string]map[string]int) { o["MvRequestNetworkParams"]["v1"] = 4 }, 8, "first member"},
		{"bad enum size", func(s map[string]int, _ map[string]map[string]int) { s["MvStatus"] = 1 }, 8, "MvStatus"},
		{"bad pointer size", func(map[string]int, map[string]map[string]int) {}, 2, "pointer size"},
	}
	for _, c := range cases {
		sizes, offs := specMaps(false)
		c.edit(sizes, offs)
		_, err := abi.NewFromOffsets("x", c.ptr, sizes, offs)
		if err == nil || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("%s: err = %v, want one mentioning %q", c.name, err, c.errHas)
		}
	}
	// "v1" itself may be reported when it agrees.
	sizes, offs := specMaps(false)
	offs["MvOpenChannelParams"]["v1"] = 8
	if _, err := abi.NewFromOffsets("x", 8, sizes, offs); err != nil {
		t.Errorf("with v1 reported: %v", err)
	}
}

func TestKindString(t *testing.T) {
	if abi.KindEnum8.String() != "enum8" || abi.Kind(99).String() != "Kind(99)" {
		t.Errorf("Kind strings: %v %v", abi.KindEnum8, abi.Kind(99))
	}
}
