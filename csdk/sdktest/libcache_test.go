package sdktest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The library is built once per source state and kept in a cache shared by
// every test process: os.UserCacheDir()/mvnet/libmvnet/KEY, where KEY is a
// hash of every input of csdk/Makefile (see libInputs). Building it takes
// most of a minute; a warm cache makes it a directory lookup.
//
// Concurrent test processes (go test ./... runs packages in parallel, and
// several checkouts may share a cache) take an exclusive flock on KEY.lock
// while they look and build; a build goes into KEY directly (the Makefile
// writes its own output path into mvnet.pc and the CMake files, so it cannot
// be renamed afterwards), and KEY/complete, written last, marks it usable.
// A build interrupted half-way leaves no marker and is redone.

// libCacheEnv overrides the cache directory (e.g. a CI workspace).
const libCacheEnv = "MVNET_LIBCACHE"

// libCacheRoot returns the directory holding the cached builds.
func libCacheRoot() (string, error) {
	if d := os.Getenv(libCacheEnv); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for libmvnet (set %s): %w", libCacheEnv, err)
	}
	return filepath.Join(base, "mvnet", "libmvnet"), nil
}

// cachedBuild returns the directory of a complete build of csdk (sdk is
// its absolute path) for the current sources, building it if needed.
// built reports whether this call ran make.
func cachedBuild(sdk string) (dir string, built bool, err error) {
	files, extra, err := libInputs(sdk)
	if err != nil {
		return "", false, err
	}
	key, err := libKey(files, extra)
	if err != nil {
		return "", false, err
	}
	root, err := libCacheRoot()
	if err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", false, err
	}
	dir = filepath.Join(root, key)
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", false, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", false, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	marker := filepath.Join(dir, "complete")
	if _, err := os.Stat(marker); err == nil {
		now := time.Now()
		_ = os.Chtimes(marker, now, now) // most recently used: kept by pruneLibCache
		return dir, false, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", false, err
	}
	out, err := exec.Command("make", "-C", sdk, "BUILD="+dir).CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", true, fmt.Errorf("make -C csdk: %v\n%s", err, out)
	}
	if err := os.WriteFile(marker, []byte(key+"\n"), 0o644); err != nil {
		return "", true, err
	}
	pruneLibCache(root, dir)
	return dir, true, nil
}

// libCacheKeep is how many builds the cache keeps (each is about 80 MB).
const libCacheKeep = 6

// pruneLibCache removes all but the libCacheKeep most recently used builds
// in root other than keep, skipping any another process holds locked.
func pruneLibCache(root, keep string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	type build struct {
		dir  string
		used time.Time
	}
	var builds []build
	for _, e := range entries {
		d := filepath.Join(root, e.Name())
		if !e.IsDir() || d == keep {
			continue
		}
		var used time.Time // no marker: an interrupted build, oldest of all
		if st, err := os.Stat(filepath.Join(d, "complete")); err == nil {
			used = st.ModTime()
		}
		builds = append(builds, build{d, used})
	}
	sort.Slice(builds, func(i, j int) bool { return builds[i].used.After(builds[j].used) })
	for i := libCacheKeep - 1; i < len(builds); i++ {
		lock, err := os.OpenFile(builds[i].dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			continue
		}
		if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			_ = os.RemoveAll(builds[i].dir) // the lock file stays: a waiter may hold it open
		}
		lock.Close()
	}
}

// libInputs lists what a build of libmvnet depends on: the files of every
// package of this module linked into csdk/lib (from go list -deps), the
// HAL and RTOS sources and every header the Makefile compiles, the Makefile,
// go.mod and go.sum (which pin every other module), and — as extra — the
// toolchain: go version and environment, and the C compiler's version.
func libInputs(sdk string) (files, extra []string, err error) {
	module := filepath.Dir(sdk)
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,Module,Standard,GoFiles,CgoFiles,CFiles,HFiles,SFiles,EmbedFiles", ".")
	cmd.Dir = filepath.Join(sdk, "lib")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("go list -deps csdk/lib: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var raw struct {
			Dir                                                   string
			Standard                                              bool
			Module                                                *struct{ Path string }
			GoFiles, CgoFiles, CFiles, HFiles, SFiles, EmbedFiles []string
		}
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("go list -deps csdk/lib: %w", err)
		}
		if raw.Standard || raw.Module == nil || raw.Module.Path != "github.com/mvnet/mvnet" {
			continue // the Go version and go.sum cover these
		}
		for _, group := range [][]string{raw.GoFiles, raw.CgoFiles, raw.CFiles, raw.HFiles, raw.SFiles, raw.EmbedFiles} {
			for _, f := range group {
				files = append(files, filepath.Join(raw.Dir, f))
			}
		}
	}
	for _, pattern := range []string{"include/*.h", "hal/*.c", "hal/*.h", "rtos/*.c", "rtos/*.h", "Makefile"} {
		m, err := filepath.Glob(filepath.Join(sdk, pattern))
		if err != nil {
			return nil, nil, err
		}
		files = append(files, m...)
	}
	files = append(files, filepath.Join(module, "go.mod"), filepath.Join(module, "go.sum"))

	goenv, err := exec.Command("go", "env", "GOVERSION", "GOOS", "GOARCH", "GOAMD64", "GOEXPERIMENT", "GOFLAGS", "CC", "CGO_CFLAGS", "CGO_LDFLAGS").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("go env: %v", err)
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	ccVersion, err := exec.Command(cc, "--version").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("%s --version: %v", cc, err)
	}
	extra = []string{"go env:\n" + string(goenv), "cc --version:\n" + string(ccVersion),
		"CC=" + os.Getenv("CC"), "CFLAGS=" + os.Getenv("CFLAGS"), "AR=" + os.Getenv("AR"), "module=" + module}
	return files, extra, nil
}

// libKey hashes the contents of files (sorted, each with its path) and extra.
func libKey(files, extra []string) (string, error) {
	files = append([]string(nil), files...)
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "file %q %d\n", f, len(b))
		h.Write(b)
	}
	for _, e := range extra {
		fmt.Fprintf(h, "extra %d\n%s", len(e), e)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// hasInput reports whether files holds a path ending in suffix.
func hasInput(files []string, suffix string) bool {
	for _, f := range files {
		if strings.HasSuffix(f, suffix) {
			return true
		}
	}
	return false
}

// The cache key covers the Go sources linked into libmvnet (here and in
// other packages), the C SDK's sources, headers and Makefile, go.mod and
// go.sum; changing any one byte of any of them changes the key, so a
// changed source is rebuilt.
func TestLibCacheKeyCoversSources(t *testing.T) {
	t.Parallel()
	sdk, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files, extra, err := libInputs(sdk)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/csdk/lib/lib.go", "/kernel/kernel.go", "/abi/codec.go", "/cloud/cloud.go",
		"/csdk/rtos/rtos_core.c", "/csdk/hal/hal_time.c", "/csdk/include/mv_syscalls.h", "/csdk/Makefile", "/go.mod", "/go.sum"} {
		if !hasInput(files, want) {
			t.Errorf("the cache key does not cover %s", want)
		}
	}
	if hasInput(files, "_test.go") {
		t.Error("the cache key covers test files, which are not linked into libmvnet")
	}
	key, err := libKey(files, extra)
	if err != nil {
		t.Fatal(err)
	}
	// Copy every input, then change each copy in turn by one byte.
	dir := t.TempDir()
	copies := make([]string, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		copies[i] = filepath.Join(dir, strings.ReplaceAll(strings.TrimPrefix(f, "/"), "/", "_"))
		if err := os.WriteFile(copies[i], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base, err := libKey(copies, extra)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := libKey(copies, extra); again != base {
		t.Fatal("the key is not a function of the inputs")
	}
	seen := map[string]string{base: "original"}
	for i, c := range copies {
		if !strings.HasSuffix(files[i], ".go") && !strings.HasSuffix(files[i], "Makefile") && i%5 != 0 {
			continue // every Go file and the Makefile, a fifth of the rest
		}
		b, _ := os.ReadFile(c)
		if err := os.WriteFile(c, append(b, ' '), 0o644); err != nil {
			t.Fatal(err)
		}
		k, err := libKey(copies, extra)
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := seen[k]; dup {
			t.Errorf("changing %s gives the same key as %s", files[i], prev)
		}
		seen[k] = files[i]
		if err := os.WriteFile(c, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if k, _ := libKey(files, append(extra, "cc 99")); k == key {
		t.Error("a different C compiler version gives the same key")
	}
}
