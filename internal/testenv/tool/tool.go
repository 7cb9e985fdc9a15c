// Package tool finds the host programs mvnet's tests need (C compilers,
// make, cmake, pkg-config, Mosquitto) and decides what a missing one means:
// on a developer's machine the test is skipped; under CI=true (set by .ci/run
// and by CI services) it fails, because .ci/run installs every one of them
// and a skip there would hide tests that never ran.
//
// It has no dependencies beyond the standard library so that every test
// package, including the C SDK's, can use it without linking the cloud.
package tool

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// sbinDirs are searched after PATH: Debian installs daemons such as
// mosquitto in /usr/sbin, which is not on an ordinary user's PATH.
var sbinDirs = []string{"/usr/sbin", "/usr/local/sbin", "/sbin"}

// Path returns the path of the executable name, searching PATH and then the
// sbin directories, or "" if it is not installed.
func Path(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// CI reports whether the tests run under CI (CI=true, as .ci/run sets it),
// where a missing tool is a failure.
func CI() bool { return os.Getenv("CI") == "true" }

// Require returns the path of the executable name. When it is not
// installed, the test fails under CI and is skipped otherwise.
func Require(t testing.TB, name string) string {
	t.Helper()
	p := Path(name)
	if p == "" {
		Missing(t, "%s is not installed (.ci/run installs it)", name)
	}
	return p
}

// Missing ends t because something the test needs from the host is missing
// (a tool, a plugin, a compiler capability), described by format and args:
// t.Fatalf under CI, t.Skipf otherwise.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("CI=true and "+format, args...)
		return
	}
	t.Skipf(format, args...)
}
