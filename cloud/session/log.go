package session

import (
	"context"
	"time"

	"github.com/mvnet/mvnet/link"
)

// Server logs.
//
// Every LOG frame is one line of the device's server log (link/doc.go,
// "Server logs"). The session hands lines to Config.Logs in arrival order,
// from a goroutine that runs while lines wait (none for an idle device: a
// cloud holds many), and answers CONTROL LOGACK with the last seq
// stored once a batch is in; a store error is retried with backoff until
// it succeeds or the link ends, so no acknowledged line is lost and none
// is skipped. The store deduplicates on (device, seq): a line the device
// sends again after a reconnect is acknowledged but stored once.
//
// Right after WELCOME the session asks Logs.LoggingEnabled and tells the
// device with CONTROL LOGGING; SetLogging sends a change later. While
// logging is disabled lines still arriving are acknowledged and dropped.
// Without a LogStore logging is disabled for every device: the device is
// told so at once, and mvServerLog answers LOGGINGDISABLEDBYSERVER.

// LogStore is where devices' log lines go. The cloud's persistent store
// implements it.
type LogStore interface {
	// AppendLog stores one line of deviceID's log, received at at. seq is
	// the device's number for the line: a (deviceID, seq) already stored
	// must be ignored, returning nil.
	AppendLog(ctx context.Context, deviceID string, seq uint64, at time.Time, line []byte) error
	// LoggingEnabled reports whether server logging is enabled for
	// deviceID.
	LoggingEnabled(ctx context.Context, deviceID string) (bool, error)
}

// Limits of the log queue.
const (
	// maxLogQueue bounds the bytes of lines waiting for the store: a
	// device can hold no more unacknowledged lines than its log buffer, so
	// only a device breaking the protocol exceeds it.
	maxLogQueue = 4 << 20
	// logRetryMax caps the delay between attempts to store a line.
	logRetryMax = 2 * time.Second
)

type logLine struct {
	seq     uint64
	at      time.Time
	text    []byte
	release func() // the hold on the device's clock until LOGACK (virtual.go)
}

// logQueue is the session's lines waiting for the store. Its fields are
// guarded by the session's mu.
type logQueue struct {
	lines []logLine
	bytes int
	busy  bool // runLogs or storeLogs is running: it will take new lines
}

// handleLog queues a LOG frame's line for the store.
func (s *Session) handleLog(f *link.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := &s.logq
	if q.bytes+len(f.Payload) > maxLogQueue {
		return protoErr("more than %d bytes of log lines unacknowledged", maxLogQueue)
	}
	q.lines = append(q.lines, logLine{seq: f.Seq, at: s.cfg.Now(), text: append([]byte(nil), f.Payload...), release: s.hold()})
	if s.logOn.Load() || !s.logSet {
		s.observeLocked(Observation{Kind: ObserveServerLog, Text: string(f.Payload), Seq: f.Seq})
	}
	q.bytes += len(f.Payload)
	if !q.busy {
		// Called from Run's loop: Run waits for s.reqs only after it.
		q.busy = true
		s.reqs.Add(1)
		go s.storeLogs(s.ctx)
	}
	return nil
}

// SetLogging records whether the store enables server logging for the
// device and tells it (CONTROL LOGGING) — disabled regardless while a
// logging-disabled fault is in force (Faults.ServerLoggingDisabled). The
// store or API layer calls it, through cloud.Server.SetLogging, after
// changing the setting.
func (s *Session) SetLogging(enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logSet, s.logWant = true, enabled
	s.tellLoggingLocked()
}

// RefreshLogging tells the device again whether logging is enabled, after
// a logging-disabled fault started or ended; the store's setting applies
// again once none is in force. Before the store's setting is known (right
// after WELCOME) it does nothing: the device learns it then. It makes
// Session a faults.LoggingLink.
func (s *Session) RefreshLogging() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logSet && !s.ended {
		s.tellLoggingLocked()
	}
}

func (s *Session) tellLoggingLocked() {
	on := s.logWant && (s.cfg.Faults == nil || !s.cfg.Faults.ServerLoggingDisabled(s.DeviceID()))
	s.logOn.Store(on)
	s.send(link.Frame{Type: link.FrameControl, Kind: link.ControlLogging, Logging: on})
}

// LoggingEnabled reports what the device was last told about logging.
func (s *Session) LoggingEnabled() bool { return s.logOn.Load() }

// runLogs tells the device whether logging is enabled, then releases
// logged (the hold HELLO took) and stores the lines that arrived meanwhile
// (storeLogs). The caller set logq.busy and counted it in s.reqs.
func (s *Session) runLogs(ctx context.Context, logged func()) {
	id := s.DeviceID()
	enabled := false
	if s.cfg.Logs != nil {
		on, err := s.cfg.Logs.LoggingEnabled(ctx, id)
		if err != nil {
			// Keep the device's lines coming: storing them is retried.
			s.log.Warn("log store: LoggingEnabled failed; assuming enabled", "err", err)
			on = true
		}
		enabled = on
	}
	s.SetLogging(enabled)
	logged()
	s.storeLogs(ctx)
}

// storeLogs stores queued lines and acknowledges them, batch by batch,
// until none is left (then it clears logq.busy and returns) or the session
// ends. It is counted in s.reqs.
func (s *Session) storeLogs(ctx context.Context) {
	defer s.reqs.Done()
	id := s.DeviceID()
	for {
		s.mu.Lock()
		batch := s.logq.lines
		s.logq.lines = nil
		if len(batch) == 0 || ctx.Err() != nil {
			s.logq.busy = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, l := range batch {
			if !s.storeLine(ctx, id, l) {
				return
			}
		}
		s.mu.Lock()
		for _, l := range batch {
			s.logq.bytes -= len(l.text)
		}
		s.mu.Unlock()
		s.send(link.Frame{Type: link.FrameControl, Kind: link.ControlLogAck, Seq: batch[len(batch)-1].seq})
		for _, l := range batch {
			l.release()
		}
	}
}

// storeLine stores one line, retrying until it is stored (true) or the
// session ends (false). A line that arrives while logging is disabled is
// dropped.
func (s *Session) storeLine(ctx context.Context, id string, l logLine) bool {
	delay := 50 * time.Millisecond
	for {
		if s.cfg.Logs == nil || !s.logOn.Load() {
			s.cfg.Metrics.LogLine(false)
			return true
		}
		err := s.cfg.Logs.AppendLog(ctx, id, l.seq, l.at, l.text)
		if err == nil {
			s.cfg.Metrics.LogLine(true)
			return true
		}
		s.log.Warn("log store: AppendLog failed; retrying", "seq", l.seq, "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		delay = min(2*delay, logRetryMax)
	}
}
