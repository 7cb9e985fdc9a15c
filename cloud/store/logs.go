package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Log lines live in the MVNET_LOGS stream, one subject per device
// (mvnet.logs.<device ID>), kept for Options.LogRetention and at most
// Options.LogMaxBytes. Each message carries the device's sequence number and
// time in headers; its payload is the line.
const (
	hdrSeq  = "Mvnet-Seq"
	hdrTime = "Mvnet-Time"
)

// LogLine is one stored line.
type LogLine struct {
	DeviceID string
	// Seq is the device's sequence number for the line (AppendLog's seq).
	Seq uint64
	// At is when the cloud received the line (AppendLog's at).
	At time.Time
	// StreamSeq is the store's position of the line: increasing, shared by
	// all devices; LogFrom.Seq resumes from it (SSE event IDs).
	StreamSeq uint64
	// Stored is when the store received the line.
	Stored time.Time
	Line   []byte
}

// LogFrom says where ReadLogs and FollowLogs start: at StreamSeq Seq
// (inclusive) when non-zero, else at the first line stored at or after Time
// when non-zero, else with only lines stored from now on when New, else at
// the oldest line kept.
type LogFrom struct {
	Seq  uint64
	Time time.Time
	New  bool
}

// ResendSpan is how far behind a device's last stored seq a seq is taken
// for a resend (see AppendLog): far more lines than a device buffers.
const ResendSpan = 1 << 32

type logMark struct {
	has       bool
	deviceSeq uint64 // the device seq of the last line stored
	streamSeq uint64 // its stream sequence (the subject's last)
}

func logSubject(deviceID string) string { return logSubjectPrefix + deviceID }

// AppendLog stores one line of deviceID's server log, exactly once per
// (deviceID, seq). at is when the cloud received the line.
//
// Devices number their lines from a random 64-bit value at boot, one more
// per line, wrapping (link/doc.go, "Server logs"), and resend the lines not
// yet acknowledged, in order, on every new link. Two guards make a resent
// line a no-op:
//
//   - the stream deduplicates by message ID (deviceID "/" seq) within
//     LogDuplicateWindow;
//   - beyond the window — a line stored, the LOGACK lost, the device offline
//     for an hour — the store compares seq with the device's last stored
//     seq L (the Mvnet-Seq header of the subject's last message, cached in
//     memory): a seq at most ResendSpan behind L (L-seq mod 2^64) was sent
//     before L on the same boot, so it is already stored (or was dropped
//     while logging was off). A reboot starts at a random seq, which lands in
//     that span with probability 2^-32; wrapping past 2^64-1 is ordinary
//     modular arithmetic.
//
// A highest-seq mark would not do: after a reboot the new random start is
// below the old mark half the time, and every new line would be dropped.
// The publish names the subject's last stream sequence it expects, so two
// writers (two cloud nodes, a reconnect racing the old session) cannot
// interleave: the loser re-reads L and tries again. When every line of a
// device has aged out of the stream, L goes with them.
func (s *Store) AppendLog(ctx context.Context, deviceID string, seq uint64, at time.Time, line []byte) error {
	defer s.observe(opLogAppend, time.Now())
	if err := devid.Check(deviceID); err != nil {
		return fmt.Errorf("store: append log: %w", err)
	}
	if len(line) > MaxLogLineLen {
		return invalid("Line", "must be at most %d bytes (got %d)", MaxLogLineLen, len(line))
	}
	mu, _ := s.appMu.LoadOrStore(deviceID, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	subj := logSubject(deviceID)
	for attempt := 0; attempt < 5; attempt++ {
		s.logMu.Lock()
		m, ok := s.logLast[deviceID]
		s.logMu.Unlock()
		if !ok {
			var err error
			if m, err = s.loadMark(ctx, deviceID); err != nil {
				return err
			}
		}
		if m.has && m.deviceSeq-seq <= ResendSpan {
			return nil // already stored: at most ResendSpan behind the last line
		}
		msg := nats.NewMsg(subj)
		msg.Header.Set(hdrSeq, strconv.FormatUint(seq, 10))
		msg.Header.Set(hdrTime, at.UTC().Format(time.RFC3339Nano))
		msg.Data = line
		ack, err := s.js.PublishMsg(ctx, msg,
			jetstream.WithMsgID(deviceID+"/"+strconv.FormatUint(seq, 10)),
			jetstream.WithExpectLastSequencePerSubject(m.streamSeq))
		if err != nil {
			var je jetstream.JetStreamError
			if errors.As(err, &je) && je.APIError() != nil &&
				(je.APIError().ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
					je.APIError().ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
				s.forgetMark(deviceID) // someone else wrote, or lines aged out
				continue
			}
			return fmt.Errorf("store: append log: %w", err)
		}
		if ack.Duplicate {
			s.forgetMark(deviceID)
			return nil
		}
		s.logMu.Lock()
		s.logLast[deviceID] = logMark{has: true, deviceSeq: seq, streamSeq: ack.Sequence}
		s.logMu.Unlock()
		return nil
	}
	return fmt.Errorf("store: append log: %s: the log kept changing under concurrent writers", deviceID)
}

func (s *Store) forgetMark(deviceID string) {
	s.logMu.Lock()
	delete(s.logLast, deviceID)
	s.logMu.Unlock()
}

func (s *Store) loadMark(ctx context.Context, deviceID string) (logMark, error) {
	m, err := s.stream.GetLastMsgForSubject(ctx, logSubject(deviceID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return logMark{}, nil
	}
	if err != nil {
		return logMark{}, fmt.Errorf("store: append log: %w", err)
	}
	seq, err := strconv.ParseUint(m.Header.Get(hdrSeq), 10, 64)
	if err != nil {
		return logMark{}, fmt.Errorf("store: append log: stream message %d has no %s header", m.Sequence, hdrSeq)
	}
	return logMark{has: true, deviceSeq: seq, streamSeq: m.Sequence}, nil
}

func (s *Store) logConsumer(ctx context.Context, deviceID string, from LogFrom) (jetstream.Consumer, error) {
	if err := devid.Check(deviceID); err != nil {
		return nil, invalid("DeviceSid", "must be UV followed by 32 hex digits")
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{logSubject(deviceID)},
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: time.Minute,
	}
	switch {
	case from.Seq != 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from.Seq
	case !from.Time.IsZero():
		t := from.Time
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	case from.New:
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	c, err := s.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: logs: %w", err)
	}
	return c, nil
}

func toLogLine(deviceID string, m jetstream.Msg) LogLine {
	l := LogLine{DeviceID: deviceID, Line: m.Data()}
	if md, err := m.Metadata(); err == nil {
		l.StreamSeq, l.Stored = md.Sequence.Stream, md.Timestamp
	}
	h := m.Headers()
	l.Seq, _ = strconv.ParseUint(h.Get(hdrSeq), 10, 64)
	l.At, _ = time.Parse(time.RFC3339Nano, h.Get(hdrTime))
	return l
}

// ReadLogs returns up to limit (0 means 50, at most 1000) of deviceID's
// stored lines starting at from, oldest first. The next page starts at
// LogFrom{Seq: last.StreamSeq + 1}; fewer than limit lines means the end.
func (s *Store) ReadLogs(ctx context.Context, deviceID string, from LogFrom, limit int) ([]LogLine, error) {
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 0 || limit > MaxPageSize {
		return nil, invalid("PageSize", "must be 1 to %d (got %d)", MaxPageSize, limit)
	}
	if from.New {
		return nil, nil
	}
	c, err := s.logConsumer(ctx, deviceID, from)
	if err != nil {
		return nil, err
	}
	defer func() {
		// Ordered consumers are ephemeral; drop this one now rather than
		// after its inactivity threshold.
		if info := c.CachedInfo(); info != nil {
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = s.stream.DeleteConsumer(dctx, info.Name)
		}
	}()
	var out []LogLine
	for len(out) < limit {
		batch, err := c.FetchNoWait(limit - len(out))
		if err != nil {
			return nil, fmt.Errorf("store: logs: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			out = append(out, toLogLine(deviceID, m))
			n++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("store: logs: %w", err)
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}

// FollowLogs streams deviceID's lines from from (history first, then each
// new line as it is stored) until ctx ends or the store closes; then the
// channel is closed. A slow reader slows the delivery; nothing is dropped.
func (s *Store) FollowLogs(ctx context.Context, deviceID string, from LogFrom) (<-chan LogLine, error) {
	c, err := s.logConsumer(ctx, deviceID, from)
	if err != nil {
		return nil, err
	}
	it, err := c.Messages()
	if err != nil {
		return nil, fmt.Errorf("store: logs: %w", err)
	}
	ch := make(chan LogLine, 64)
	done := make(chan struct{})
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
		case <-s.closed:
		case <-done:
		}
		it.Stop()
	}()
	go func() {
		defer s.wg.Done()
		defer close(ch)
		defer close(done)
		for {
			m, err := it.Next()
			if err != nil {
				if !errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() == nil {
					s.log.Warn("follow logs ended", "device", deviceID, "err", err)
				}
				return
			}
			select {
			case ch <- toLogLine(deviceID, m):
			case <-ctx.Done():
				return
			case <-s.closed:
				return
			}
		}
	}()
	return ch, nil
}
