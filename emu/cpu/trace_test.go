package cpu

import (
	"fmt"
	"testing"
)

// traceRun steps the machine, printing the last n instructions when it
// stops (a debugging aid for failing tests).
func (m *machine) traceRun(t *testing.T, n int) {
	var hist []string
	for i := 0; i < 1_000_000; i++ {
		pc := m.R[15]
		text := "?"
		if r := m.m.find(pc, 4); r != nil {
			o := pc - r.base
			text, _ = Disassemble(uint16(r.data[o])|uint16(r.data[o+1])<<8, uint16(r.data[o+2])|uint16(r.data[o+3])<<8)
		}
		hist = append(hist, fmt.Sprintf("%08x %-30s r0=%x r1=%x r2=%x r3=%x r4=%x lr=%x sp=%x %s", pc, text, m.R[0], m.R[1], m.R[2], m.R[3], m.R[4], m.R[14], m.R[13], m.flags()))
		if len(hist) > n {
			hist = hist[1:]
		}
		if s := m.Step(); s != StopBudget {
			break
		}
	}
	for _, h := range hist {
		t.Log(h)
	}
}
