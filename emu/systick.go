package emu

// SysTick (ARMv8-M ARM, "The system timer, SysTick") counts on the
// virtual clock. The counter's value is not stored per cycle: it is
// computed from the cycle the counter was last loaded (base) and its value
// then (v0), and the cycle it next reaches zero is a virtual timer, so the
// interrupt is pended after exactly the right number of instructions.
//
// CSR.CLKSOURCE = 1 counts the processor clock (Options.Hz); 0 counts the
// external reference clock, which on the STM32U5 is HCLK/8 by default
// (RCC_CCIPR1.SYSTICKSEL = 00). CALIB reports that reference: NOREF = 0,
// SKEW = 0, TENMS = the reference count of 10 ms minus one.

const (
	systickEnable    = 1 << 0
	systickTickInt   = 1 << 1
	systickClkSource = 1 << 2
	systickCountFlag = 1 << 16
	systickRefDiv    = 8 // STM32U5: SysTick external reference = HCLK/8
	systickMax       = 0xFFFFFF
)

type systick struct {
	ctrl      uint32 // ENABLE, TICKINT, CLKSOURCE
	countFlag bool
	rvr       uint32
	v0        uint32 // value at base (or the frozen value while disabled)
	base      uint64 // cycle of the last (re)load of v0
	timer     *timer // the next zero, while enabled
}

func (s *systick) div() uint64 {
	if s.ctrl&systickClkSource != 0 {
		return 1
	}
	return systickRefDiv
}

func (s *systick) running() bool { return s.ctrl&systickEnable != 0 }

// at returns the counter value after k ticks from base: v0 counts down to
// zero, then each tick after a zero reloads RVR (a reload of 0 stops it).
func (s *systick) at(k uint64) uint32 {
	v0 := uint64(s.v0)
	if k <= v0 {
		return uint32(v0 - k)
	}
	if s.rvr == 0 {
		return 0
	}
	period := uint64(s.rvr) + 1
	return s.rvr - uint32((k-v0-1)%period)
}

// value is the current counter value (SYST_CVR).
func (s *systick) value(m *Machine) uint32 {
	if !s.running() {
		return s.v0
	}
	return s.at((m.cycles() - s.base) / s.div())
}

// rebase freezes the current value as v0 at the current cycle.
func (s *systick) rebase(m *Machine) {
	s.v0 = s.value(m)
	s.base = m.cycles()
}

// schedule arms the timer for the next zero after the current cycle.
func (s *systick) schedule(m *Machine) {
	m.cancel(s.timer)
	s.timer = nil
	if !s.running() {
		return
	}
	var k uint64 // ticks from base to the next zero
	switch {
	case s.v0 > 0:
		k = uint64(s.v0)
	case s.rvr > 0:
		k = uint64(s.rvr) + 1
	default:
		return
	}
	now := m.cycles()
	at := s.base + k*s.div()
	if at <= now {
		// Catch up to the first zero after now (zeros are period apart).
		period := (uint64(s.rvr) + 1) * s.div()
		at += ((now-at)/period + 1) * period
	}
	s.timer = m.atCycle(at, s.zero)
}

// zero runs at the cycle the counter reaches zero: COUNTFLAG, the
// interrupt if TICKINT, and the next zero one period on.
func (s *systick) zero(m *Machine) {
	s.timer = nil
	s.countFlag = true
	if s.ctrl&systickTickInt != 0 {
		m.setPending(excSysTick)
	}
	if s.rvr == 0 {
		s.rebase(m)
		return
	}
	// Re-base at this zero so the next one is exactly RVR+1 ticks on.
	s.v0, s.base = 0, m.cycles()
	s.timer = m.atCycle(s.base+(uint64(s.rvr)+1)*s.div(), s.zero)
}

func (s *systick) csr(m *Machine, peek bool) uint32 {
	v := s.ctrl
	if s.countFlag {
		v |= systickCountFlag
		if !peek {
			s.countFlag = false // COUNTFLAG clears on read
		}
	}
	return v
}

func (s *systick) setCSR(m *Machine, v, mask uint32) {
	s.rebase(m)
	s.ctrl = (s.ctrl&^mask | v&mask) & (systickEnable | systickTickInt | systickClkSource)
	s.schedule(m)
}

func (s *systick) setRVR(m *Machine, v uint32) {
	s.rebase(m)
	s.rvr = v & systickMax
	s.schedule(m)
}

// clear is any write to SYST_CVR: the counter and COUNTFLAG clear; the
// next tick reloads RVR.
func (s *systick) clear(m *Machine) {
	s.v0, s.base, s.countFlag = 0, m.cycles(), false
	s.schedule(m)
}

func (s *systick) calib(m *Machine) uint32 {
	tenms := m.hz/systickRefDiv/100 - 1
	if tenms > systickMax {
		tenms = 0 // TENMS unknown
	}
	return uint32(tenms)
}

func (s *systick) reset(m *Machine) {
	m.cancel(s.timer)
	*s = systick{}
}
