package session

import "time"

// Pending is how many bytes the cloud holds for the device on channel ch
// (waiting for its credit), or -1 if ch is not open.
func (s *Session) Pending(ch uint32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chans[ch]
	if c == nil {
		return -1
	}
	return len(c.pending)
}

// SetCreditDelay sets how long the session's request CREDIT waits for the
// response (credit.go); call it before Run.
func (s *Session) SetCreditDelay(d time.Duration) { s.creditDelay = d }

// MQTTBlocked reports whether MQTT channel ch's bridge holds a message
// the device had no room for (it is offered again on CREDIT).
func (s *Session) MQTTBlocked(ch uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chans[ch]
	return c != nil && c.mq != nil && c.mq.blocked
}
