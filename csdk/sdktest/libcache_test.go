package sdktest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The library is built once per source state and kept in a cache shared by
// every test process: os.UserCacheDir()/mvnet/libmvnet/KEY, where KEY is a
// hash of every input of csdk/Makefile (see libInputs). Building it takes
// most of a minute; a warm cache makes it a directory lookup.
//
// A build goes into KEY directly (the Makefile writes its own output path
// into mvnet.pc and the CMake files, so it cannot be renamed afterwards), and
// KEY/complete, written last, marks it usable; a build interrupted half-way
// leaves no marker and is redone.
//
// Test processes run in parallel (go test ./... runs packages in parallel,
// and several checkouts may share a cache), so two flocks guard a build:
//   - KEY.lock: every process using KEY holds LOCK_SH on it for its whole
//     life (TestMain keeps it open), from before it looks for the marker to
//     its exit, and pruneLibCache removes a build only under LOCK_EX|LOCK_NB
//     on it: a build in use, or being built, is never removed.
//   - KEY.build: builders take LOCK_EX on it while they build, so one
//     process builds and the others wait for it, then find the marker.
// Builders wait on KEY.build, not by converting KEY.lock to LOCK_EX: that
// would wait for every other user of the build to exit.

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
// its absolute path) for the current sources, building it if needed, and
// the open lock file that keeps it from being pruned (see holdBuild): keep
// it open as long as the build is used. built reports whether this call
// ran make.
func cachedBuild(sdk string) (dir string, lock *os.File, built bool, err error) {
	files, extra, err := libInputs(sdk)
	if err != nil {
		return "", nil, false, err
	}
	key, err := libKey(files, extra)
	if err != nil {
		return "", nil, false, err
	}
	root, err := libCacheRoot()
	if err != nil {
		return "", nil, false, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, false, err
	}
	dir = filepath.Join(root, key)
	lock, built, err = holdBuild(dir, func() error {
		out, err := exec.Command("make", "-C", sdk, "BUILD="+dir).CombinedOutput()
		if err != nil {
			return fmt.Errorf("make -C csdk: %v\n%s", err, out)
		}
		return nil
	})
	if err != nil {
		return "", nil, built, err
	}
	if built {
		pruneLibCache(root, dir)
	}
	return dir, lock, built, nil
}

// holdBuild takes LOCK_SH on dir.lock and returns it held once dir holds a
// complete build: one already there, or one made now by build (which writes
// into dir) under LOCK_EX on dir.build, built reporting which. As long as
// the returned file is open, pruneLibCache leaves dir alone.
func holdBuild(dir string, build func() error) (lock *os.File, built bool, err error) {
	lock, err = os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_SH); err != nil {
		lock.Close()
		return nil, false, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	built, err = buildOnce(dir, build)
	if err != nil {
		lock.Close() // releases the lock
		return nil, built, err
	}
	now := time.Now()
	_ = os.Chtimes(filepath.Join(dir, "complete"), now, now) // most recently used: kept by pruneLibCache
	return lock, built, nil
}

// buildOnce makes sure dir holds a complete build, running build under
// LOCK_EX on dir.build if it does not. The caller holds LOCK_SH on
// dir.lock, so the marker, once there, stays.
func buildOnce(dir string, build func() error) (built bool, err error) {
	marker := filepath.Join(dir, "complete")
	if _, err := os.Stat(marker); err == nil {
		return false, nil
	}
	bl, err := os.OpenFile(dir+".build", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return false, err
	}
	defer bl.Close() // releases the lock
	if err := syscall.Flock(int(bl.Fd()), syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("lock %s: %w", bl.Name(), err)
	}
	if _, err := os.Stat(marker); err == nil {
		return false, nil // built by the process we waited for
	}
	if err := os.RemoveAll(dir); err != nil { // an interrupted build
		return false, err
	}
	if err := build(); err != nil {
		_ = os.RemoveAll(dir)
		return true, err
	}
	key := filepath.Base(dir)
	if err := os.WriteFile(marker, []byte(key+"\n"), 0o644); err != nil {
		return true, err
	}
	return true, nil
}

// libCacheKeep is how many builds the cache keeps (each is about 80 MB).
const libCacheKeep = 6

// pruneLibCache removes all but the libCacheKeep most recently used builds
// in root other than keep, skipping any in use or being built (see
// holdBuild: LOCK_EX|LOCK_NB on KEY.lock fails).
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

// fakeBuild makes dir a complete build (a file and the marker) last used
// at used.
func fakeBuild(t *testing.T, dir string, used time.Time) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "libmvnet.a"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "complete")
	if err := os.WriteFile(marker, []byte(filepath.Base(dir)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(marker, used, used); err != nil {
		t.Fatal(err)
	}
}

// lockedByOther reports whether someone holds a lock on dir.lock (taken
// through a new open file description, as another process would).
func lockedByOther(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil
}

// waitUnlocked reports whether dir.lock is unlocked within a generous
// deadline. Released locks may linger a moment: a child that another test
// of this process is starting holds copies of every descriptor from fork
// to exec (which closes them), and the lock belongs to the open file
// description, not to the descriptor.
func waitUnlocked(t *testing.T, dir string) bool {
	t.Helper()
	return poll.Wait(time.Minute, func() bool { return !lockedByOther(t, dir) })
}

// A build a process is using (it holds what holdBuild returned) is not
// pruned, however old; once released, it is. (The test process's own
// holdBuild and pruneLibCache open the lock file separately, and flock
// locks belong to the open file description, so this is what happens
// between two processes.)
func TestLibCachePruneKeepsBuildInUse(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	old := time.Now().Add(-time.Hour)
	n := libCacheKeep + 2 // the 3 oldest are pruned
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = filepath.Join(root, fmt.Sprintf("build%d", i))
		fakeBuild(t, dirs[i], old.Add(time.Duration(i)*time.Minute))
	}
	lock, built, err := holdBuild(dirs[0], func() error {
		t.Error("holdBuild rebuilt a complete build")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if built {
		t.Error("holdBuild reports a build for a complete one")
	}
	// holdBuild marked dirs[0] as just used; make it the oldest again.
	if err := os.Chtimes(filepath.Join(dirs[0], "complete"), old, old); err != nil {
		t.Fatal(err)
	}
	pruneLibCache(root, "")
	for i, d := range dirs {
		_, err := os.Stat(d)
		switch {
		case i == 0 && err != nil:
			t.Errorf("the build in use was pruned: %v", err)
		case i > 0 && i < 3 && err == nil:
			t.Errorf("the unused old build %d was not pruned", i)
		case i >= 3 && err != nil:
			t.Errorf("the recent build %d was pruned: %v", i, err)
		}
	}
	lock.Close()
	if !waitUnlocked(t, dirs[0]) {
		t.Fatal("the build is still locked once released")
	}
	pruneLibCache(root, "")
	if _, err := os.Stat(dirs[0]); err == nil {
		t.Error("the build was not pruned once released")
	}
}

// Users of one key that find no build start together: one builds while the
// others wait for it (the build waits until /proc/locks shows them all
// blocked on KEY.build), then they use its build, all at once (waiting for
// the build does not wait for the other users to finish), and none of them
// can be pruned until the last one releases it.
func TestLibCacheBuildsOnceForConcurrentUsers(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "key")
	const users = 4
	var builds atomic.Int32
	build := func() error {
		builds.Add(1)
		waitBlocked(t, dir+".build", users-1)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "libmvnet.a"), []byte("x"), 0o644)
	}
	type held struct {
		lock  *os.File
		built bool
		err   error
	}
	results := make(chan held, users)
	for range users {
		go func() {
			lock, built, err := holdBuild(dir, build)
			results <- held{lock, built, err}
		}()
	}
	var locks []*os.File
	nbuilt := 0
	deadline := time.After(2 * time.Minute)
	for range users {
		select {
		case h := <-results:
			if h.err != nil {
				t.Fatal(h.err)
			}
			locks = append(locks, h.lock)
			if h.built {
				nbuilt++
			}
		case <-deadline:
			t.Fatalf("only %d of %d users got the build while the others held it", len(locks), users)
		}
	}
	if n := builds.Load(); n != 1 || nbuilt != 1 {
		t.Errorf("built %d times (%d users report a build), want once", n, nbuilt)
	}
	if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
		t.Error(err)
	}
	for i, l := range locks {
		if !lockedByOther(t, dir) {
			t.Fatalf("with %d of %d users left, the build can be pruned", users-i, users)
		}
		l.Close()
	}
	if !waitUnlocked(t, dir) {
		t.Error("the build is still locked after every user released it")
	}
}

// A failed build leaves neither a directory nor a lock, and the next user
// builds again.
func TestLibCacheFailedBuildIsRedone(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "key")
	failure := errors.New("make failed")
	lock, built, err := holdBuild(dir, func() error {
		_ = os.MkdirAll(dir, 0o755) // half-way
		return failure
	})
	if !errors.Is(err, failure) || lock != nil || !built {
		t.Fatalf("holdBuild of a failing build = %v, %v, %v; want nil, true, the failure", lock, built, err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("the failed build's directory was left")
	}
	if !waitUnlocked(t, dir) {
		t.Error("the failed build is still locked")
	}
	lock, built, err = holdBuild(dir, func() error { return os.MkdirAll(dir, 0o755) })
	if err != nil || !built {
		t.Fatalf("holdBuild after a failure = %v, %v; want a build", built, err)
	}
	lock.Close()
}

// waitBlocked waits until n flocks of this process are blocked on path, as
// /proc/locks shows them ("-> FLOCK ... PID MAJ:MIN:INODE ...").
func waitBlocked(t *testing.T, path string, n int) {
	st, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	ino := fmt.Sprintf(":%d", st.Sys().(*syscall.Stat_t).Ino)
	pid := fmt.Sprint(os.Getpid())
	var b []byte
	blocked := 0
	if !poll.Wait(2*time.Minute, func() bool {
		var err error
		if b, err = os.ReadFile("/proc/locks"); err != nil {
			return true
		}
		blocked = 0
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 7 && f[1] == "->" && f[2] == "FLOCK" && f[5] == pid && strings.HasSuffix(f[6], ino) {
				blocked++
			}
		}
		return blocked >= n
	}) || blocked < n {
		t.Errorf("%d of %d users blocked on %s:\n%s", blocked, n, path, b)
	}
}
