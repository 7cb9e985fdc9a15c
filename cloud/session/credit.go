package session

import "time"

// A request channel (HTTP, CONFIGFETCH) carries one request from the device:
// once it is whole the cloud owes the device its bytes back as CREDIT, but
// the device can send nothing more on the channel, so the credit is of no
// use to it until the channel is gone. Sending that CREDIT at once costs a
// TLS record, a write and a wakeup of the device's link reader of its own
// per request (issue 11: a third of the relayed path's link writes). So the
// credit is owed: it goes out just before the response, in the same write
// to the link, or after creditDelay if the response is slower than that, so
// that a device still sees its send ring emptied while a slow request runs.
// A channel closed meanwhile gets no CREDIT (link/doc.go: none after CLOSE).
//
// A device on a virtual clock gets the CREDIT at once: a timer of the
// cloud's own would be one more deadline on the device's clock
// (virtual.go), and the emulated device does not count link writes.

// creditDelay is how long a request channel's CREDIT may wait for the
// response to carry it. Above the latency of a relayed request on a busy
// node (milliseconds), far below anything a device could notice.
const creditDelay = 100 * time.Millisecond

// oweCreditLocked records that ch's request, n bytes, is to be granted back
// and arms the session's credit timer if it is not armed.
func (s *Session) oweCreditLocked(ch *channel, n int) {
	if s.vc != nil {
		s.grantLocked(ch, n)
		return
	}
	ch.owed += n
	if s.owing == 0 {
		if s.creditTimer == nil {
			s.creditTimer = time.AfterFunc(s.creditDelay, s.payOwedCredits)
		} else {
			s.creditTimer.Reset(s.creditDelay)
		}
	}
	s.owing++
}

// payCreditLocked sends ch's owed CREDIT, if any. The caller sends the
// response next, holding the link (link.Conn.Hold) from before the first
// to after the last, so that both leave in one write: otherwise the link's
// writer, started by the CREDIT, could take it alone before the response
// is queued.
func (s *Session) payCreditLocked(ch *channel) {
	if ch.owed == 0 {
		return
	}
	n := ch.owed
	s.forgetCreditLocked(ch)
	s.grantLocked(ch, n)
}

// forgetCreditLocked drops ch's owed credit (paid, or the channel closed)
// and stops the timer when nothing is owed any more.
func (s *Session) forgetCreditLocked(ch *channel) {
	if ch.owed == 0 {
		return
	}
	ch.owed = 0
	s.owing--
	if s.owing == 0 {
		s.creditTimer.Stop()
	}
}

// payOwedCredits runs when the credit timer fires: every request channel
// still waiting for its response gets its CREDIT now.
func (s *Session) payOwedCredits() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.owing == 0 {
		return
	}
	for _, ch := range s.chans {
		s.payCreditLocked(ch)
	}
}
