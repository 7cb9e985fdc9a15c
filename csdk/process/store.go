package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/kernel"
)

// The embedded cloud's store (cloud/store, NATS JetStream embedded in the
// process) answers the application's config fetches and keeps its server
// log lines. Its data is under MVNET_DATA_DIR, locked like 'mvnet cloud
// serve' locks its data directory (DIR/cloud.lock), or else in a temporary
// directory removed at exit (one left by a killed process is removed by
// the next start). MVNET_CONFIG_FILE seeds it. The device's log lines are
// followed as they are stored: echoed to stderr ("[mvServerLog] line",
// unless MVNET_SERVERLOG=off) and traced ({"kind":"serverlog"}). At exit
// (mvTestingComplete, exit, return from main, mvRestart) the library waits
// a little for the lines the application logged to be stored.

const (
	// storeLockFile is held (flock) while a process uses the data
	// directory; 'mvnet cloud serve' uses the same name, so the two exclude
	// each other.
	storeLockFile = "cloud.lock"
	// tempStorePattern names the temporary data directories.
	tempStorePattern = "mvnet-store-"
	// staleTempStoreAge: a temporary data directory older than this whose
	// lock is free belonged to a process that died without cleaning up.
	staleTempStoreAge = time.Minute
	// logFlushWait bounds the wait at exit for logged lines to be stored.
	logFlushWait = 3 * time.Second
	// storeOpenTimeout bounds the store's start-up.
	storeOpenTimeout = 30 * time.Second
)

// cloudStore is the embedded cloud's store and the follower of the
// device's log lines.
type cloudStore struct {
	s    *store.Store
	dir  string
	temp bool     // dir is ours to remove
	lock *os.File // flock on dir/cloud.lock

	cancel context.CancelFunc
	done   chan struct{} // the follower has ended

	logged atomic.Int64 // lines mvServerLog accepted
	stored atomic.Int64 // lines seen stored

	// mu guards the cloud's calls (cloudStore is its ConfigStore and
	// LogStore) against close: a call in progress holds it shared; after
	// close, calls are answered without the store, so that a session still
	// running as the process exits has nothing to complain about.
	mu        sync.RWMutex
	closed    bool
	closeOnce sync.Once
}

// errStoreClosed answers a config fetch that arrives as the process ends.
var errStoreClosed = errors.New("the embedded cloud's store is closed: the application is exiting")

// Fetch is the cloud's ConfigStore.
func (cs *cloudStore) Fetch(ctx context.Context, deviceID string, scope abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key string) ([]byte, bool, error) {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if cs.closed {
		return nil, false, errStoreClosed
	}
	return cs.s.Fetch(ctx, deviceID, scope, st, key)
}

// AppendLog is the cloud's LogStore. After close a line is dropped: the
// process is ending, and the line with it.
func (cs *cloudStore) AppendLog(ctx context.Context, deviceID string, seq uint64, at time.Time, line []byte) error {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if cs.closed {
		return nil
	}
	return cs.s.AppendLog(ctx, deviceID, seq, at, line)
}

// LoggingEnabled is the cloud's LogStore.
func (cs *cloudStore) LoggingEnabled(ctx context.Context, deviceID string) (bool, error) {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if cs.closed {
		return true, nil
	}
	return cs.s.LoggingEnabled(ctx, deviceID)
}

// openStore opens the store, registers the device, seeds it from
// MVNET_CONFIG_FILE and starts following the device's log lines.
func (p *Process) openStore() (*cloudStore, error) {
	cs := &cloudStore{dir: p.cfg.DataDir, done: make(chan struct{})}
	where := EnvDataDir + "=" + strconv.Quote(cs.dir)
	if cs.dir == "" {
		removeStaleTempStores(p)
		d, err := os.MkdirTemp("", tempStorePattern)
		if err != nil {
			return nil, fmt.Errorf("mvnet: embedded cloud store: %w", err)
		}
		cs.dir, cs.temp = d, true
		where = "temporary store " + d
	} else if err := os.MkdirAll(cs.dir, 0o700); err != nil {
		return nil, fmt.Errorf("mvnet: %s: %w", where, err)
	}
	lock, err := lockDir(cs.dir)
	if err != nil {
		cs.removeTemp()
		return nil, fmt.Errorf("mvnet: %s: %w", where, err)
	}
	cs.lock = lock
	fail := func(err error) (*cloudStore, error) {
		cs.close()
		return nil, fmt.Errorf("mvnet: %s: %w", where, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
	defer cancel()
	s, err := store.Open(ctx, store.Options{DataDir: cs.dir, Logger: p.log.With("side", "store")})
	if err != nil {
		return fail(err)
	}
	cs.s = s
	dev := p.cfg.DeviceID
	if _, err := s.RegisterDevice(ctx, dev); err != nil {
		return fail(err)
	}
	if sd := p.cfg.Seed; sd != nil {
		if err := sd.Put(ctx, s, dev); err != nil {
			cs.close()
			return nil, fmt.Errorf("mvnet: %w", err)
		}
		p.log.Info("store seeded", "file", EnvConfigFile, "values", sd.Len())
	}
	fctx, fcancel := context.WithCancel(context.Background())
	lines, err := s.FollowLogs(fctx, dev, store.LogFrom{New: true})
	if err != nil {
		fcancel()
		return fail(err)
	}
	cs.cancel = fcancel
	go cs.follow(p, lines)
	p.log.Info("embedded cloud store open", "dir", cs.dir, "temporary", cs.temp)
	return cs, nil
}

// follow echoes and traces the device's log lines as they are stored.
func (cs *cloudStore) follow(p *Process, lines <-chan store.LogLine) {
	defer close(cs.done)
	for l := range lines {
		// Under the emulator (Options.Exec) the trace line and the echo
		// happen with the image stopped, at a point ServerLogsToEcho lets
		// the emulator make repeatable.
		p.onAppGoroutine(func() {
			p.trace.serverLog(l)
			if !p.cfg.ServerLogOff {
				_, _ = p.o.Stderr.Write(EchoLine(l.Line))
			}
			cs.stored.Add(1)
		})
	}
}

// onAppGoroutine runs fn through Options.Exec if set, else at once.
func (p *Process) onAppGoroutine(fn func()) {
	if p.o.Exec != nil {
		p.o.Exec(fn)
		return
	}
	fn()
}

// ServerLogsToEcho is how many server log lines the cloud has acknowledged
// (so the embedded cloud's store holds them) that have not been echoed and
// traced yet: the emulator's Settle waits for them, so that the echo lands
// at the same point of every run. 0 without an embedded cloud.
func (p *Process) ServerLogsToEcho() int64 {
	cs := p.store.Load()
	k := p.StartedKernel()
	if cs == nil || k == nil {
		return 0
	}
	return max(cs.logged.Load()-int64(k.LogsPending())-cs.stored.Load(), 0)
}

// EchoLine is a log line as echoed to stderr: "[mvServerLog] " and the
// line, quoted (Go syntax) if it holds control characters or invalid UTF-8
// so that it stays one line of the terminal; mvnet run's hosted cloud
// echoes the same way.
func EchoLine(line []byte) []byte {
	out := []byte("[mvServerLog] ")
	plain := utf8.Valid(line)
	for _, c := range line {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			plain = false
			break
		}
	}
	if plain {
		out = append(out, line...)
	} else {
		out = strconv.AppendQuote(out, string(line))
	}
	return append(out, '\n')
}

// serverLog writes a serverlog line: the device's sequence number of the
// line and its text.
func (t *tracer) serverLog(l store.LogLine) {
	if !t.on() {
		return
	}
	t.begin("serverlog")
	t.num("seq", l.Seq)
	t.str("line", string(l.Line))
	t.end()
}

// countServerLog makes the dispatch table count the lines mvServerLog
// accepts, which the exit waits for.
func (p *Process) countServerLog() {
	i := callIndex("mvServerLog")
	if i < 0 || p.calls[i].fn == nil {
		return
	}
	fn := p.calls[i].fn
	p.calls[i].fn = func(p *Process, k *kernel.Kernel, a *kernel.Args) abi.Status {
		st := fn(p, k, a)
		if st == abi.StatusOkay {
			if cs := p.store.Load(); cs != nil {
				cs.logged.Add(1)
			}
		}
		return st
	}
}

// flushLogs waits, at most logFlushWait, until every line mvServerLog
// accepted has been stored (and echoed).
func (cs *cloudStore) flushLogs() {
	if cs == nil {
		return
	}
	waitLogs(func() bool { return cs.stored.Load() >= cs.logged.Load() })
}

// waitLogs waits until done, for at most logFlushWait.
func waitLogs(done func() bool) {
	deadline := time.Now().Add(logFlushWait)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
}

// flushJoinedLogs is flushLogs for a device joined to a running cloud
// (MVNET_BUNDLE): it waits, at most logFlushWait, until the cloud has
// acknowledged every line mvServerLog accepted, so that lines logged just
// before an exit or a restart are not lost with the link (the kernel
// would send them again only on a next link).
func (p *Process) flushJoinedLogs() {
	if p.cfg.Bundle == nil || !p.started.Load() || p.k == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), logFlushWait)
	defer cancel()
	_ = p.k.WaitLogsAcked(ctx) // at the deadline, the lines left are lost with the link
}

// finishStore is the store's part of the process ending (exit, restart):
// wait for logged lines, close the store, remove a temporary directory.
func (p *Process) finishStore() {
	p.flushJoinedLogs()
	cs := p.store.Swap(nil) // once: mvTestingComplete's exit runs the exit hook too
	if cs == nil {
		return
	}
	cs.flushLogs()
	cs.close()
}

func (cs *cloudStore) close() {
	cs.closeOnce.Do(func() {
		if cs.cancel != nil {
			cs.cancel()
		}
		cs.mu.Lock()
		cs.closed = true
		cs.mu.Unlock()
		if cs.s != nil {
			cs.s.Close()
		}
		if cs.lock != nil {
			_ = cs.lock.Close() // releases the flock
		}
		cs.removeTemp()
	})
}

func (cs *cloudStore) removeTemp() {
	if cs.temp {
		_ = os.RemoveAll(cs.dir)
	}
}

// lockDir takes dir/cloud.lock, failing at once if another process holds
// it.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, storeLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errors.New("the data directory is in use by another process (an application, or 'mvnet cloud serve': join that one with MVNET_BUNDLE); give each its own")
		}
		return nil, err
	}
	return f, nil
}

// removeStaleTempStores removes the temporary data directories of
// processes that died without removing them: older than a minute, lock
// free.
func removeStaleTempStores(p *Process) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempStorePattern+"*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < staleTempStoreAge {
			continue
		}
		f, err := lockDir(d)
		if err != nil {
			continue
		}
		if err := os.RemoveAll(d); err == nil {
			p.log.Info("removed a stale temporary store", "dir", d)
		}
		f.Close()
	}
}
