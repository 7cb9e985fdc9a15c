package emu

import (
	"testing"
	"time"
)

// advance moves the virtual clock n cycles and fires what is due, as the
// run loop does after a quantum of n instructions.
func (m *Machine) advance(n uint64) {
	m.cpu.Instructions += n
	m.fireTimers()
}

func TestClockConversions(t *testing.T) {
	m := newTestMachine(t)
	for _, c := range []struct {
		d   time.Duration
		cyc uint64
	}{{time.Second, DefaultHz}, {time.Microsecond, 160}, {1, 1}, {time.Hour * 1000, DefaultHz * 3600 * 1000}} {
		if got := m.cyclesOf(c.d); got != c.cyc {
			t.Errorf("cyclesOf(%v) = %d, want %d", c.d, got, c.cyc)
		}
	}
	if got := m.durationOf(DefaultHz * 3600 * 1000); got != 1000*time.Hour {
		t.Errorf("durationOf(1000 h of cycles) = %v", got)
	}
	m.advance(160)
	if m.Now() != time.Microsecond {
		t.Errorf("Now after 160 cycles = %v", m.Now())
	}
}

// TestAtOrder: timers fire at their cycle, in time order, ties in the
// order they were set; a timer set for the past fires at once.
func TestAtOrder(t *testing.T) {
	m := newTestMachine(t)
	var got []string
	m.At(2*time.Microsecond, func() { got = append(got, "b") })
	m.At(time.Microsecond, func() { got = append(got, "a1") })
	m.At(time.Microsecond, func() { got = append(got, "a2") })
	m.advance(159)
	if len(got) != 0 {
		t.Fatalf("fired early: %v", got)
	}
	m.advance(1)
	m.At(0, func() { got = append(got, "now") })
	m.fireTimers()
	m.advance(160)
	if want := "a1 a2 now b"; joined(got) != want {
		t.Fatalf("order %q, want %q", joined(got), want)
	}
}

func joined(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// TestSysTick: with RVR = 999 on the processor clock the interrupt pends
// every 1000 cycles exactly, CVR counts down, COUNTFLAG clears on read.
func TestSysTick(t *testing.T) {
	m := newTestMachine(t)
	scsWrite(t, m, 0xE000E014, 4, 999)
	scsWrite(t, m, 0xE000E018, 4, 12345) // any write clears
	scsWrite(t, m, 0xE000E010, 4, systickEnable|systickTickInt|systickClkSource)
	m.advance(1)
	if v := scsRead(t, m, 0xE000E018); v != 999 {
		t.Fatalf("CVR one cycle after enabling = %d, want 999 (reloaded)", v)
	}
	m.advance(500)
	if v := scsRead(t, m, 0xE000E018); v != 499 {
		t.Fatalf("CVR = %d, want 499", v)
	}
	m.advance(498)
	if m.pending[excSysTick] {
		t.Fatal("SysTick pended one cycle early")
	}
	m.advance(1)
	if !m.pending[excSysTick] {
		t.Fatal("SysTick not pended at 1000 cycles")
	}
	if scsRead(t, m, 0xE000E010)&systickCountFlag == 0 || scsRead(t, m, 0xE000E010)&systickCountFlag != 0 {
		t.Fatal("COUNTFLAG not set, or not cleared by the read")
	}
	var at []uint64
	m.pending[excSysTick] = false
	for range 5000 {
		m.advance(1)
		if m.pending[excSysTick] {
			at = append(at, m.cycles())
			m.pending[excSysTick] = false
		}
	}
	if len(at) != 5 || at[0] != 2000 || at[4] != 6000 {
		t.Fatalf("SysTick zeros at %v, want every 1000 cycles from 2000", at)
	}
	// Reference clock (HCLK/8) and disabling.
	scsWrite(t, m, 0xE000E010, 4, systickEnable|systickTickInt)
	scsWrite(t, m, 0xE000E018, 4, 0)
	m.advance(8*1000 - 1)
	if m.pending[excSysTick] {
		t.Fatal("SysTick on the reference clock pended early")
	}
	m.advance(1)
	if !m.pending[excSysTick] {
		t.Fatal("SysTick on the reference clock did not pend after 8*(RVR+1) cycles")
	}
	scsWrite(t, m, 0xE000E010, 4, 0)
	frozen := scsRead(t, m, 0xE000E018)
	m.advance(100000)
	if scsRead(t, m, 0xE000E018) != frozen {
		t.Fatal("disabled SysTick kept counting")
	}
	if got := scsRead(t, m, 0xE000E01C); got != DefaultHz/8/100-1 {
		t.Errorf("CALIB = %d", got)
	}
}

// TestDWTCycleCounter: DWT_CYCCNT counts cycles while DEMCR.TRCENA and
// DWT_CTRL.CYCCNTENA are set, and holds otherwise.
func TestDWTCycleCounter(t *testing.T) {
	m := newTestMachine(t)
	scsWrite(t, m, 0xE0001000, 4, 1)
	m.advance(100)
	if v := scsRead(t, m, 0xE0001004); v != 0 {
		t.Fatalf("CYCCNT %d counting without TRCENA", v)
	}
	scsWrite(t, m, 0xE000EDFC, 4, 1<<24)
	scsWrite(t, m, 0xE0001004, 4, 10)
	m.advance(1000)
	if v := scsRead(t, m, 0xE0001004); v != 1010 {
		t.Fatalf("CYCCNT %d, want 1010", v)
	}
	scsWrite(t, m, 0xE0001000, 4, 0)
	m.advance(1000)
	if v := scsRead(t, m, 0xE0001004); v != 1010 {
		t.Fatalf("stopped CYCCNT moved to %d", v)
	}
}
