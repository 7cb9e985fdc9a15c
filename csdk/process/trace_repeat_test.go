package process

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

// summary lists the trace's lines after the start line by what they are:
// a call's name, "gpio OP LEVEL", other kinds by kind, and a repeat line
// as "N×WHAT".
func summary(lines []map[string]any) string {
	var k []string
	for _, l := range lines[1:] {
		if l["kind"] == "repeat" {
			ev, _ := l["event"].(map[string]any)
			k = append(k, jsonNum(l["count"])+"×"+what(ev))
			continue
		}
		k = append(k, what(l))
	}
	return strings.Join(k, ", ")
}

func what(l map[string]any) string {
	switch l["kind"] {
	case "syscall":
		return l["call"].(string)
	case "gpio":
		return "gpio " + l["op"].(string) + " " + jsonNum(l["level"])
	}
	s, _ := l["kind"].(string)
	return s
}

func jsonNum(v any) string {
	f, _ := v.(float64)
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// TestTraceCollapsesRepeats: a call repeated with the same result is
// written once in full, then counted; the repeat line, with the count and
// the first and last time, is written before the next different line.
// One counted event is written as its own line. A call whose output
// changes is never counted.
func TestTraceCollapsesRepeats(t *testing.T) {
	trace := t.TempDir() + "/trace.jsonl"
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace})
	hm := newHostMem(t)
	hz, _ := hm.alloc(8)
	us, _ := hm.alloc(8)
	for i := 0; i < 1000; i++ {
		if st := call(t, p, "mvGetHClk", hz); st != abi.StatusOkay {
			t.Fatal(st)
		}
	}
	p.TraceEvent("uart", `"op":"transmit","data":"x"`)
	call(t, p, "mvGetHClk", hz)
	call(t, p, "mvGetPClk1", hz)
	call(t, p, "mvGetMicroseconds", us)
	call(t, p, "mvGetMicroseconds", us)
	p.Exited(true, 0)
	l := readTrace(t, trace)
	want := "mvGetHClk, 999×mvGetHClk, uart, mvGetHClk, mvGetPClk1, mvGetMicroseconds, mvGetMicroseconds, exit"
	if got := summary(l); got != want {
		t.Fatalf("trace:\n%s\nwant:\n%s", got, want)
	}
	r := l[2]
	first, last, at := r["first"].(float64), r["last"].(float64), r["t"].(float64)
	if !(l[1]["t"].(float64) <= first && first <= last && last <= at && at <= l[3]["t"].(float64)) {
		t.Errorf("times out of order: full line %v, repeat %v–%v written at %v, next line %v", l[1]["t"], first, last, at, l[3]["t"])
	}
	ev := r["event"].(map[string]any)
	out, _ := ev["out"].(map[string]any)
	if ev["t"] != nil || ev["status"] != "MV_STATUS_OKAY" || out["hz"] != float64(160000000) {
		t.Errorf("repeated event %v", ev)
	}
}

// TestTraceCollapsesGPIOWritesThatChangeNothing: a write of the level the
// pin already has (after a write or a toggle) is counted; one that changes
// it is written in full, even if an identical line was counted before. Two
// events repeating in turn are both counted.
func TestTraceCollapsesGPIOWritesThatChangeNothing(t *testing.T) {
	trace := t.TempDir() + "/trace.jsonl"
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace})
	hm := newHostMem(t)
	hz, _ := hm.alloc(8)
	w := func(level int) {
		p.TraceEvent("gpio", `"op":"write","port":"GPIOA","pin":5,"level":`+strconv.Itoa(level))
	}
	w(1)
	w(1)
	w(1)
	p.TraceEvent("gpio", `"op":"toggle","port":"GPIOA","pin":5,"level":0`)
	w(0)
	w(1)
	w(1)
	p.TraceEvent("gpio", `"op":"write","port":"GPIOB","pin":5,"level":1`) // another pin: its first write
	for i := 0; i < 50; i++ {                                             // a poll and an LED write in one loop
		call(t, p, "mvGetHClk", hz)
		w(1)
	}
	p.Exited(true, 0)
	want := "gpio write 1, 2×gpio write 1, gpio toggle 0, gpio write 0, gpio write 1, gpio write 1, gpio write 1, " +
		"mvGetHClk, 50×gpio write 1, 49×mvGetHClk, exit"
	if got := summary(readTrace(t, trace)); got != want {
		t.Fatalf("trace:\n%s\nwant:\n%s", got, want)
	}
}

// TestTraceCollapsesBusTransfers: the same I2C or SPI transfer with the
// same data is counted; other HAL lines (UART output) never are.
func TestTraceCollapsesBusTransfers(t *testing.T) {
	trace := t.TempDir() + "/trace.jsonl"
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace})
	for i := 0; i < 3; i++ {
		p.TraceEvent("i2c", `"op":"mem_read","bus":"I2C1","addr":24,"reg":5,"data":"c1a0"`)
	}
	p.TraceEvent("i2c", `"op":"mem_read","bus":"I2C1","addr":24,"reg":5,"data":"c1a2"`)
	for i := 0; i < 3; i++ {
		p.TraceEvent("spi", `"op":"transmit","bus":"SPI1","data":"00"`)
	}
	for i := 0; i < 3; i++ {
		p.TraceEvent("uart", `"op":"transmit","data":"waiting\r\n"`)
	}
	p.Exited(true, 0)
	want := "i2c, 2×i2c, i2c, spi, 2×spi, uart, uart, uart, exit"
	if got := summary(readTrace(t, trace)); got != want {
		t.Fatalf("trace:\n%s\nwant:\n%s", got, want)
	}
}

// TestTraceRepeatsWrittenWithinInterval: counted repeats do not wait for
// the next different line: they are written repeatEvery after the first
// of them (shortened here), so a live transcript of a long poll does not
// go silent.
func TestTraceRepeatsWrittenWithinInterval(t *testing.T) {
	trace := t.TempDir() + "/trace.jsonl"
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace})
	p.trace.mu.Lock()
	p.trace.rep.every = 20 * time.Millisecond
	p.trace.mu.Unlock()
	hm := newHostMem(t)
	hz, _ := hm.alloc(8)
	for _, want := range []string{"mvGetHClk, 2×mvGetHClk", "mvGetHClk, 2×mvGetHClk, 3×mvGetHClk"} {
		for i := 0; i < 3; i++ {
			call(t, p, "mvGetHClk", hz)
		}
		poll.Until(t, "the counted repeats written while the loop waits: "+want, func() bool {
			return summary(readTrace(t, trace)) == want
		})
	}
}

// BenchmarkTracedCall: a traced call that repeats (counted: mvGetHClk)
// against one whose every line is written (mvGetMicroseconds), the cost of
// a trace line before repeats were counted.
func BenchmarkTracedCall(b *testing.B) {
	for _, name := range []string{"mvGetHClk", "mvGetMicroseconds"} {
		b.Run(name, func(b *testing.B) {
			trace := b.TempDir() + "/trace.jsonl"
			p, _ := newTestProcess(b, map[string]string{EnvTrace: trace, EnvTraceMax: "0"})
			hm := newHostMem(b)
			out, _ := hm.alloc(8)
			if _, err := p.CallByName(name, out); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, _ = p.CallByName(name, out)
			}
		})
	}
}
