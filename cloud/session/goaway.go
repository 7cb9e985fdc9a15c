package session

import "github.com/mvnet/mvnet/link"

// GoAway tells the device that this cloud node is going away (CONTROL
// GOAWAY with reason, shortened to link.MaxDiagLen bytes; link/doc.go,
// "Going away"): the device closes the link and reconnects, to another
// node. The session runs on until the device has gone (Run then returns
// nil, as for any hang-up) or is closed. It reports whether GOAWAY was
// queued: not before WELCOME (no frame may precede it: the device is
// still being admitted, ask again later), nor once the session is
// closing.
func (s *Session) GoAway(reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.welcome || s.ended || s.closing {
		return false
	}
	s.send(link.Frame{Type: link.FrameControl, Kind: link.ControlGoAway, Payload: []byte(link.TruncateDiag(reason))})
	return true
}
