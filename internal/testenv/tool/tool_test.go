package tool

import (
	"os/exec"
	"testing"
)

func TestPathFindsShell(t *testing.T) {
	want, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	if got := Path("sh"); got != want {
		t.Fatalf("Path(sh) = %q, want %q", got, want)
	}
	if got := Path("mvnet-no-such-tool"); got != "" {
		t.Fatalf("Path of a missing tool = %q, want empty", got)
	}
}

// recorder is a testing.TB that records how the test would have ended.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, format
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, format
}

// A missing tool skips on a developer's machine and fails under CI=true.
func TestRequireMissingToolFailsUnderCI(t *testing.T) {
	for _, c := range []struct {
		ci              string
		failed, skipped bool
	}{{"true", true, false}, {"", false, true}, {"false", false, true}} {
		t.Setenv("CI", c.ci)
		r := &recorder{TB: t}
		if p := Require(r, "mvnet-no-such-tool"); p != "" {
			t.Fatalf("Require returned %q for a missing tool", p)
		}
		if r.failed != c.failed || r.skipped != c.skipped {
			t.Errorf("CI=%q: failed=%v skipped=%v (%q), want failed=%v skipped=%v", c.ci, r.failed, r.skipped, r.msg, c.failed, c.skipped)
		}
	}
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	if p := Require(r, "sh"); p == "" || r.failed || r.skipped {
		t.Fatalf("Require(sh) = %q, failed=%v skipped=%v", p, r.failed, r.skipped)
	}
}
