package session

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
