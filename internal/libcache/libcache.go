// Package libcache builds libmvnet (csdk/Makefile) once per source state
// and keeps the builds in a cache shared by every process that needs one:
// the C SDK's tests (csdk/sdktest) and `mvnet build`.
package libcache

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
	"syscall"
	"time"
)

// The library is built once per source state and kept in a cache shared by
// every test process: os.UserCacheDir()/mvnet/libmvnet/KEY, where KEY is a
// hash of every input of csdk/Makefile (see Inputs). Building it takes
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
//     its exit, and prune removes a build only under LOCK_EX|LOCK_NB
//     on it: a build in use, or being built, is never removed.
//   - KEY.build: builders take LOCK_EX on it while they build, so one
//     process builds and the others wait for it, then find the marker.
// Builders wait on KEY.build, not by converting KEY.lock to LOCK_EX: that
// would wait for every other user of the build to exit.

// Env overrides the cache directory (e.g. a CI workspace).
const Env = "MVNET_LIBCACHE"

// Root returns the directory holding the cached builds.
func Root() (string, error) {
	if d := os.Getenv(Env); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for libmvnet (set %s): %w", Env, err)
	}
	return filepath.Join(base, "mvnet", "libmvnet"), nil
}

// Build returns the directory of a complete build of csdk (sdk is
// its absolute path) for the current sources, building it if needed, and
// the open lock file that keeps it from being pruned (see holdBuild): keep
// it open as long as the build is used. built reports whether this call
// ran make. When progress is not nil, a build says so on it and shows
// make's output there as it runs (the first build takes most of a minute).
func Build(sdk string, progress io.Writer) (dir string, lock *os.File, built bool, err error) {
	files, extra, err := Inputs(sdk)
	if err != nil {
		return "", nil, false, err
	}
	key, err := Key(files, extra)
	if err != nil {
		return "", nil, false, err
	}
	root, err := Root()
	if err != nil {
		return "", nil, false, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, false, err
	}
	dir = filepath.Join(root, key)
	lock, built, err = holdBuild(dir, func() error {
		var out bytes.Buffer
		cmd := exec.Command("make", "-C", sdk, "BUILD="+dir)
		cmd.Stdout, cmd.Stderr = &out, &out
		if progress != nil {
			fmt.Fprintf(progress, "building libmvnet for these sources into %s (once; most of a minute)\n", dir)
			cmd.Stdout = io.MultiWriter(&out, progress)
			cmd.Stderr = cmd.Stdout
		}
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("make -C %s: %v\n%s", sdk, err, out.Bytes())
		}
		return nil
	})
	if err != nil {
		return "", nil, built, err
	}
	if built {
		prune(root, dir)
	}
	return dir, lock, built, nil
}

// Locked reports whether some process (or another open file of this one)
// holds a lock on dir's lock file: a build in use is locked.
func Locked(dir string) bool {
	f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return false
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil
}

// holdBuild takes LOCK_SH on dir.lock and returns it held once dir holds a
// complete build: one already there, or one made now by build (which writes
// into dir) under LOCK_EX on dir.build, built reporting which. As long as
// the returned file is open, prune leaves dir alone.
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
	_ = os.Chtimes(filepath.Join(dir, "complete"), now, now) // most recently used: kept by prune
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

// keepBuilds is how many builds the cache keeps (each is about 80 MB).
const keepBuilds = 6

// prune removes all but the keepBuilds most recently used builds
// in root other than keep, skipping any in use or being built (see
// holdBuild: LOCK_EX|LOCK_NB on KEY.lock fails).
func prune(root, keep string) {
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
	for i := keepBuilds - 1; i < len(builds); i++ {
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

// Inputs lists what a build of libmvnet depends on: the files of every
// package of this module linked into csdk/lib (from go list -deps), the
// HAL and RTOS sources and every header the Makefile compiles, the Makefile,
// go.mod and go.sum (which pin every other module), and — as extra — the
// toolchain: go version and environment, and the C compiler's version.
func Inputs(sdk string) (files, extra []string, err error) {
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

// Key hashes the contents of files (sorted, each with its path) and extra.
func Key(files, extra []string) (string, error) {
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
