package cloud

import (
	"errors"

	"github.com/mvnet/mvnet/cloud/metrics"
	"github.com/mvnet/mvnet/cloud/session"
)

// The cloud's side of its metrics (Options.Metrics, package metrics): what
// the gauges read, and the links admitted or refused. Sessions count their
// own frames and requests (session.Config.Metrics).

// watchMetrics makes m's gauges read the server (nil m: no metrics).
func (s *Server) watchMetrics(m *metrics.Metrics) {
	s.metrics = m
	m.Watch(s.connectedDevices, s.Handshakes)
}

// connectedDevices is how many devices are past HELLO.
func (s *Server) connectedDevices() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// Serving reports whether the server is accepting device links from a
// listener (Serve is running): one of a node's readiness checks.
func (s *Server) Serving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lns) > 0 && !s.shutdown
}

// registerCounted is register, counting the device's link as accepted or
// refused (and why).
func (s *Server) registerCounted(id string, sess *session.Session) (func(), error) {
	unregister, err := s.register(id, sess)
	if err != nil {
		s.metrics.LinkRefused(refusal(err, metrics.RefusedHandshake))
		return nil, err
	}
	s.metrics.LinkAccepted()
	return unregister, nil
}

// refusal classifies why a link was refused; other for the rest.
func refusal(err error, other metrics.Refusal) metrics.Refusal {
	switch {
	case errors.Is(err, ErrNotRegistered):
		return metrics.RefusedNotRegistered
	case errors.Is(err, ErrRegistryFailed):
		return metrics.RefusedRegistry
	case errors.Is(err, ErrLinkDropped):
		return metrics.RefusedLinkDropped
	case errors.Is(err, ErrShutdown):
		return metrics.RefusedShutdown
	case errors.Is(err, ErrDraining):
		return metrics.RefusedDraining
	}
	return other
}
