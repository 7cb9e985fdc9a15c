package libcache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv/poll"
)

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
	sdk, err := filepath.Abs("../../csdk")
	if err != nil {
		t.Fatal(err)
	}
	files, extra, err := Inputs(sdk)
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
	key, err := Key(files, extra)
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
	base, err := Key(copies, extra)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := Key(copies, extra); again != base {
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
		k, err := Key(copies, extra)
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
	if k, _ := Key(files, append(extra, "cc 99")); k == key {
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
	return Locked(dir)
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
// holdBuild and prune open the lock file separately, and flock
// locks belong to the open file description, so this is what happens
// between two processes.)
func TestLibCachePruneKeepsBuildInUse(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	old := time.Now().Add(-time.Hour)
	n := keepBuilds + 2 // the 3 oldest are pruned
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
	prune(root, "")
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
	prune(root, "")
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
