package fwbuild

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRootStaysOutOfTheRepository: with the usual
// MVNET_LIBCACHE=$PWD/.libcache the firmware cache is neither in the
// working tree nor inside the libcache root (whose prune would remove it).
func TestRootStaysOutOfTheRepository(t *testing.T) {
	repo, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	t.Setenv("MVNET_LIBCACHE", filepath.Join(repo, ".libcache"))
	t.Setenv(Env, "")
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(root, repo+string(filepath.Separator)) {
		t.Fatalf("firmware cache %s is inside the repository %s", root, repo)
	}
	if want := filepath.Join(cache, "mvnet", "firmware"); root != want {
		t.Fatalf("firmware cache %s, want %s", root, want)
	}
}
