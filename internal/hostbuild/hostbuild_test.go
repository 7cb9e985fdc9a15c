package hostbuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkoutRoot is the root of the checkout these tests run in.
func checkoutRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// FindSDK takes --sdk first, then $MVNET_SDK, then the checkout holding
// the working directory; a checkout root or its csdk both name the SDK.
func TestFindSDKOrder(t *testing.T) {
	root := checkoutRoot(t)
	sdk := filepath.Join(root, "csdk")
	t.Setenv(SDKEnv, "")
	for _, c := range []struct {
		name, flag, env, want string
	}{
		{"flag (checkout)", root, "", sdk},
		{"flag (csdk)", sdk, "", sdk},
		{"flag before env", sdk, "/nonexistent", sdk},
		{"env", "", root, sdk},
		{"working directory", "", "", sdk},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(SDKEnv, c.env)
			got, err := FindSDK(c.flag, "")
			if err != nil || got != c.want {
				t.Fatalf("FindSDK(%q) with %s=%q = %q, %v; want %q", c.flag, SDKEnv, c.env, got, err, c.want)
			}
		})
	}
}

// A bad --sdk or $MVNET_SDK is an error naming where it came from; with
// neither, outside any checkout, the error says what to do.
func TestFindSDKErrors(t *testing.T) {
	empty := t.TempDir()
	t.Setenv(SDKEnv, "")
	if _, err := FindSDK(empty, ""); err == nil || !strings.Contains(err.Error(), "--sdk") || !strings.Contains(err.Error(), "is not mvnet's C SDK") {
		t.Errorf("FindSDK(empty dir) = %v; want an error naming --sdk", err)
	}
	t.Setenv(SDKEnv, empty)
	if _, err := FindSDK("", ""); err == nil || !strings.Contains(err.Error(), "$"+SDKEnv) {
		t.Errorf("FindSDK with %s=empty dir = %v; want an error naming it", SDKEnv, err)
	}
	t.Setenv(SDKEnv, "")
	t.Chdir(empty)
	sourceSDK = func() (string, bool) { return "", false } // as with -trimpath or the source gone
	t.Cleanup(func() { sourceSDK = builtFrom })
	_, err := FindSDK("", empty)
	if err == nil || !strings.Contains(err.Error(), "pass --sdk DIR or set "+SDKEnv) {
		t.Errorf("FindSDK outside a checkout = %v; want one saying what to do", err)
	}
}

// The project's checkout is found when the working directory is elsewhere.
func TestFindSDKFromProject(t *testing.T) {
	root := checkoutRoot(t)
	t.Setenv(SDKEnv, "")
	t.Chdir(t.TempDir())
	got, err := FindSDK("", filepath.Join(root, "examples", "project"))
	if err != nil || got != filepath.Join(root, "csdk") {
		t.Fatalf("FindSDK from the project = %q, %v", got, err)
	}
}

func TestCMakeVersion(t *testing.T) {
	for _, c := range []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"cmake version 3.25.1\n\nCMake suite maintained", 3, 25, true},
		{"cmake version 4.0.0-rc1", 4, 0, true},
		{"cmake3 version 3.24.0", 3, 24, true},
		{"nothing", 0, 0, false},
	} {
		major, minor, ok := cmakeVersion(c.in)
		if major != c.major || minor != c.minor || ok != c.ok {
			t.Errorf("cmakeVersion(%q) = %d, %d, %v; want %d, %d, %v", c.in, major, minor, ok, c.major, c.minor, c.ok)
		}
	}
}

func TestProjectDirErrors(t *testing.T) {
	empty := t.TempDir()
	if _, err := projectDir(empty); err == nil || !strings.Contains(err.Error(), "has no CMakeLists.txt") {
		t.Errorf("projectDir(empty) = %v", err)
	}
	if _, err := projectDir(filepath.Join(empty, "missing")); err == nil || !strings.Contains(err.Error(), "project directory") {
		t.Errorf("projectDir(missing) = %v", err)
	}
	f := filepath.Join(empty, "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := projectDir(f); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("projectDir(file) = %v", err)
	}
}

// Outside any checkout, a binary finds the SDK of the source tree it was
// built from (this test binary: this checkout).
func TestFindSDKBuiltFrom(t *testing.T) {
	want := filepath.Join(checkoutRoot(t), "csdk")
	t.Setenv(SDKEnv, "")
	t.Chdir(t.TempDir())
	got, err := FindSDK("", "")
	if err != nil || got != want {
		t.Fatalf("FindSDK outside a checkout = %q, %v; want %q (the source this binary was built from)", got, err, want)
	}
}
