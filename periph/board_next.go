package periph

import "time"

// NextInputAt is when NextInput next has a level to hand out, on the
// board's clock: now when one is due, else the next timeline point or the
// next sampling of the devices' output lines. ok is false when nothing
// more can come. A caller with its own clock (a CPU's GPIO and EXTI
// registers, emu/stm32) schedules its next NextInput(0) for then instead
// of waiting in NextInput.
func (b *Board) NextInputAt() (at time.Duration, ok bool) {
	b.in.mu.Lock()
	defer b.in.mu.Unlock()
	now := b.now()
	if len(b.in.pending) > 0 {
		return now, true
	}
	if len(b.in.outs) > 0 {
		at, ok = max(b.in.nextSample, now), true
	}
	for _, p := range b.in.pins {
		if p.next < len(p.levels) && (!ok || p.due() < at) {
			at, ok = max(p.due(), now), true
		}
	}
	return at, ok
}
