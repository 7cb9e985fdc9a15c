package faults

import (
	"errors"
	"testing"
)

// TestParamError: ParseSpec's and Validate's errors about one parameter
// carry its key and what is wrong, with the text they always had.
func TestParamError(t *testing.T) {
	for _, tc := range []struct {
		kind          string
		params        map[string]string
		key, why, msg string
	}{
		{"http-status", map[string]string{"url": "*", "status": "99"}, "status", "status 99 is not an HTTP status (100–599)", "http-status: status 99 is not an HTTP status (100–599)"},
		{"latency", map[string]string{"jitter": "-5ms"}, "jitter", "jitter must not be negative", "latency: jitter must not be negative"},
		{"link-flap", map[string]string{"Period": "often"}, "Period", "not a duration (want e.g. 500ms, 2s, 1m)", `link-flap: Period="often": not a duration (want e.g. 500ms, 2s, 1m)`},
		{"link-drop", map[string]string{"period": "2s"}, "period", `takes no parameter "period" (only for=DURATION)`, `link-drop: takes no parameter "period" (only for=DURATION)`},
		{"link-flap", map[string]string{}, "period", "missing", "link-flap: missing parameter period"},
		{"mqtt-refuse", map[string]string{"reason_code": "300"}, "reason-code", "reason-code 300 is no CONNACK refusal (1–5 in MQTT 3.1.1, 0x80–0xFF in MQTT 5)", "mqtt-refuse: reason-code 300 is no CONNACK refusal (1–5 in MQTT 3.1.1, 0x80–0xFF in MQTT 5)"},
	} {
		_, err := ParseSpec(tc.kind, tc.params)
		var pe *ParamError
		if !errors.As(err, &pe) {
			t.Errorf("%s %v: %v is not a ParamError", tc.kind, tc.params, err)
			continue
		}
		if pe.Key != tc.key || pe.Why != tc.why || err.Error() != tc.msg {
			t.Errorf("%s %v: key %q why %q text %q; want %q %q %q", tc.kind, tc.params, pe.Key, pe.Why, err, tc.key, tc.why, tc.msg)
		}
	}
	// Not about one parameter: a plain error.
	_, err := ParseSpec("latency", map[string]string{})
	var pe *ParamError
	if err == nil || errors.As(err, &pe) {
		t.Errorf("latency without delay or jitter: %v (a ParamError: %v)", err, pe != nil)
	}
}
