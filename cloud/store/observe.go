package store

import (
	"context"
	"fmt"
	"time"
)

// The operations Options.Observe is told about: those on every device's
// path (a link's HELLO, its log lines, its config fetches) and Ping. The
// names are cloud/metrics' op labels (metrics.StoreConfigFetch, …).
const (
	opConfigFetch      = "config_fetch"
	opLogAppend        = "log_append"
	opLoggingEnabled   = "logging_enabled"
	opDeviceRegistered = "device_registered"
	opPing             = "ping"
)

// observe tells Options.Observe that op, started at start, has ended:
// defer s.observe(op, time.Now()).
func (s *Store) observe(op string, start time.Time) {
	if s.opts.Observe != nil {
		s.opts.Observe(op, time.Since(start))
	}
}

// Ping asks JetStream for the account's information: nil means the store
// answers (a node's readiness check). It fails when ctx ends first, e.g.
// while the connection to an external NATS is down.
func (s *Store) Ping(ctx context.Context) error {
	defer s.observe(opPing, time.Now())
	if _, err := s.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("store: JetStream not answering: %w", err)
	}
	return nil
}
