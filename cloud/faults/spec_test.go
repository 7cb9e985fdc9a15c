package faults_test

import (
	"strings"
	"testing"

	"github.com/mvnet/mvnet/cloud/faults"
)

// TestParseSpecRejectsZeroThatInverts: a zero given explicitly where the
// Spec's zero means a default of the opposite effect is an error saying
// so; the valid values parse.
func TestParseSpecRejectsZeroThatInverts(t *testing.T) {
	for _, c := range []struct {
		kind   string
		params map[string]string
		want   string // "" = valid
	}{
		{"mqtt-drop", map[string]string{"loss": "0"}, "loss=0 would drop nothing: omit loss to drop every message"},
		{"mqtt-drop", map[string]string{"loss": "0.0"}, "loss=0 would drop nothing"},
		{"mqtt-drop", map[string]string{"loss": "0.5", "seed": "1"}, ""},
		{"mqtt-drop", map[string]string{}, ""},
		{"link-flap", map[string]string{"period": "1s", "loss": "0"}, "loss=0 would never take the link down"},
		{"mqtt-refuse", map[string]string{"reason-code": "0"}, "0 is success, not a refusal"},
		{"mqtt-refuse", map[string]string{"reason-code": "6"}, "reason-code 6 is no CONNACK refusal (1–5 in MQTT 3.1.1, 0x80–0xFF in MQTT 5)"},
		{"mqtt-refuse", map[string]string{"reason-code": "0x7f"}, "reason-code 127 is no CONNACK refusal"},
		{"mqtt-refuse", map[string]string{"reason-code": "1"}, ""},
		{"mqtt-refuse", map[string]string{"reason-code": "5"}, ""},
		{"mqtt-refuse", map[string]string{"reason-code": "0x80"}, ""},
		{"mqtt-refuse", map[string]string{"reason-code": "255"}, ""},
	} {
		_, err := faults.ParseSpec(c.kind, c.params)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("ParseSpec(%s, %v): %v, want valid", c.kind, c.params, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("ParseSpec(%s, %v): %v, want an error with %q", c.kind, c.params, err, c.want)
		}
	}
	if err := (faults.Spec{Kind: faults.MQTTRefuse, ReasonCode: 0x10}).Validate(); err == nil {
		t.Error("Validate accepted reason code 0x10")
	}
}

// TestKindsHelpUsesDefaults: the help text states the default from its
// constant.
func TestKindsHelpUsesDefaults(t *testing.T) {
	for _, k := range faults.Kinds() {
		if k.Kind == faults.CloudRestart && !strings.Contains(k.Summary, "(default "+faults.DefaultRestartDown.String()+")") {
			t.Errorf("cloud-restart summary %q does not give DefaultRestartDown", k.Summary)
		}
	}
}
