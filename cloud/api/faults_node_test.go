package api

import (
	"sort"
	"strings"
	"testing"
	"time"
)

// TestFaultsNoteAndTimes: a lasting fault applied to a device whose link
// is not on this node says so (note); once the device is connected, none.
// Times have nine digits of fraction, so they sort as strings.
func TestFaultsNoteAndTimes(t *testing.T) {
	e, _, _ := faultEnv(t, false)
	r := e.want(e.do("POST", "/v1/Devices/pump-7/Faults", fv("Kind", "link-drop")), 201)
	if n, _ := r.body["note"].(string); !strings.Contains(n, "not connected to this cloud node") {
		t.Fatalf("lasting fault on a device not connected here: note %q, want one saying so", r.body["note"])
	}
	applied, _ := r.body["applied"].(string)
	if _, err := time.Parse(faultTime, applied); err != nil || len(applied) != len("2006-01-02T15:04:05.000000000Z") {
		t.Fatalf("applied %q: want nine digits of fraction (%v)", applied, err)
	}
	e2, _, _ := faultEnv(t, true)
	r = e2.want(e2.do("POST", "/v1/Devices/pump-7/Faults", fv("Kind", "latency", "Delay", "1ms")), 201)
	if _, ok := r.body["note"]; ok {
		t.Fatalf("fault on a device connected here has a note: %s", r.raw)
	}

	base := time.Date(2026, 12, 7, 4, 11, 39, 0, time.UTC)
	times := []time.Time{base.Add(120 * time.Millisecond), base.Add(100 * time.Millisecond), base.Add(123456789)}
	var s []string
	for _, tm := range times {
		s = append(s, tm.Format(faultTime))
	}
	sort.Strings(s)
	if s[0] != base.Add(100*time.Millisecond).Format(faultTime) || s[2] != base.Add(123456789).Format(faultTime) {
		t.Fatalf("sorted as strings: %v, not in time order", s)
	}
}
