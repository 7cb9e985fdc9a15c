package periph

import "time"

// Poll moves up to len(p) bytes that have arrived by now into p without
// waiting, for a caller that keeps its own clock (a CPU's UART registers,
// emu/stm32). It returns how many it moved.
func (u *UARTPort) Poll(p []byte) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	for len(u.chunks) > 0 && u.chunks[0].At <= now {
		u.buf = append(u.buf, u.chunks[0].Text...)
		u.chunks = u.chunks[1:]
	}
	n := copy(p, u.buf)
	u.buf = u.buf[n:]
	return n
}

// NextText is when the next timeline text arrives on the board's clock;
// ok is false when no more text is scheduled. Bytes models send arrive
// whenever they send them.
func (u *UARTPort) NextText() (at time.Duration, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.chunks) == 0 {
		return 0, false
	}
	return u.chunks[0].At, true
}
