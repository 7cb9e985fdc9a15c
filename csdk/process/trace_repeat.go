package process

import (
	"encoding/json"
	"strconv"
	"time"
)

// Repeats. A polling loop calls the same system call with the same result
// hundreds of thousands of times a second; one line each would bury
// everything else and reach the cap within seconds. So events that repeat
// are counted instead of written, and one "repeat" line stands for them:
//
//	{"t":2401230,"kind":"repeat","count":2345,"first":1201007,"last":2400998,"event":{"kind":"syscall","call":"mvGetNetworkStatus",…}}
//
// count is the number of events the line stands for (none of which was
// written), first and last the t of the first and the last of them, and
// event the repeated line without its t.
//
// The same: a line of a kind in repeatKinds that is byte for byte the
// line of an earlier event of the trace apart from its t — the same call
// with the same arguments (pointers included), status and outputs; the
// same IRQ and handler; the same bus transfer — and a gpio write of the level the pin already has, as the
// trace last showed it (a write or toggle of that pin; a pin the trace has
// not shown yet has no level, so its first write is always written, as is
// a write that changes the level). Anything else is written in full,
// among it every event's first occurrence, every line of another kind and
// every call whose output changes (mvGetMicroseconds). The trace remembers
// the last repeatRuns distinct events it could count.
//
// When: counted events are written out — their repeat line, or the event's
// own line if there is just one — before the next line that is written in
// full (so the trace keeps the order of events: a repeat line covers
// events after the line before it and before the line after it), at the
// latest repeatEvery after the first of them (so a live transcript of a
// long poll shows a line a second), and when the trace closes (exit,
// mvRestart). A process killed by a signal loses at most repeatEvery's
// worth of counts. Two events repeating in turn (a poll and an LED write
// in one loop) are each counted: both repeat lines are written together,
// in the order of their first counted events.

// repeatKinds are the kinds of line counted when byte for byte the same
// apart from t: system calls, interrupt deliveries and the peripheral
// buses' transactions (the same transfer with the same data).
var repeatKinds = map[string]bool{"syscall": true, "interrupt": true, "i2c": true, "spi": true}

// repeatEvery bounds how long counted repeats wait to be written.
const repeatEvery = time.Second

// repeatRuns is how many distinct events the trace remembers for
// counting.
const repeatRuns = 16

// repeatRun is an event that may repeat: its line from ,"kind" on.
type repeatRun struct {
	key         string
	used        uint64 // when it last matched, for forgetting the oldest
	count       int64  // events counted since its last written line
	first, last int64
	line        []byte // the last counted event's own line
}

// repeats follows the events that may repeat. Guarded by tracer.mu.
type repeats struct {
	runs    map[string]*repeatRun
	pending []*repeatRun // count > 0, in the order of their first counted event
	clock   uint64
	every   time.Duration
	timer   *time.Timer
	armed   bool
	pins    map[string]byte // "GPIOA.5" → the level the trace last showed
}

func newRepeats() repeats {
	return repeats{runs: map[string]*repeatRun{}, pins: map[string]byte{}, every: repeatEvery}
}

// absorb counts the line in buf (its part from head on is key) if it
// repeats a remembered event; it reports whether it did. mu held.
func (t *tracer) absorb(key []byte, now int64) bool {
	r := t.rep.runs[string(key)]
	if r == nil {
		return false
	}
	t.rep.clock++
	r.used = t.rep.clock
	if r.count == 0 {
		r.first = now
		t.rep.pending = append(t.rep.pending, r)
	}
	r.count++
	r.last = now
	r.line = append(r.line[:0], t.buf...)
	if !t.rep.armed {
		t.rep.armed = true
		if t.rep.timer == nil {
			t.rep.timer = time.AfterFunc(t.rep.every, t.flushLater)
		} else {
			t.rep.timer.Reset(t.rep.every)
		}
	}
	return true
}

// rememberRun makes the event just written in full countable, forgetting
// the least recently matched one beyond repeatRuns. mu held.
func (t *tracer) rememberRun(key []byte) {
	if _, ok := t.rep.runs[string(key)]; ok {
		return
	}
	if len(t.rep.runs) >= repeatRuns {
		var old *repeatRun
		for _, r := range t.rep.runs {
			if r.count == 0 && (old == nil || r.used < old.used) {
				old = r
			}
		}
		if old == nil {
			return
		}
		delete(t.rep.runs, old.key)
	}
	t.rep.clock++
	r := &repeatRun{key: string(key), used: t.rep.clock}
	t.rep.runs[r.key] = r
}

// flushRepeats writes the counted events out; a repeat line's t is now.
// mu held.
func (t *tracer) flushRepeats(now int64) {
	if len(t.rep.pending) == 0 {
		return
	}
	var line []byte
	for _, r := range t.rep.pending {
		if r.count == 1 {
			line = append(line[:0], r.line...)
		} else {
			line = appendInt(append(line[:0], '{'), "t", now)
			line = append(line, `,"kind":"repeat"`...)
			line = appendInt(line, "count", r.count)
			line = appendInt(line, "first", r.first)
			line = appendInt(line, "last", r.last)
			line = append(line, `,"event":{`...)
			line = append(line, r.key[1:len(r.key)-1]...) // without the leading ',' and the '\n'
			line = append(line, "}\n"...)
		}
		r.count = 0
		t.writeOut(line)
	}
	clear(t.rep.pending)
	t.rep.pending = t.rep.pending[:0]
	t.rep.armed = false
	if t.rep.timer != nil {
		t.rep.timer.Stop()
	}
}

// flushLater is the timer's: counted events wait at most repeatEvery.
func (t *tracer) flushLater() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.out != nil && !t.off.Load() {
		t.flushRepeats(t.mono())
	}
}

// gpioWrite follows the pins' levels through a gpio event's fields. A
// write is remembered (written, it can be counted when it repeats) and
// countable if it writes the level its pin already has. mu held.
func (t *tracer) gpioWrite(fields string) (remember, countable bool) {
	var g struct {
		Op    string `json:"op"`
		Port  string `json:"port"`
		Pin   *int   `json:"pin"`
		Level *int   `json:"level"`
	}
	if json.Unmarshal([]byte("{"+fields+"}"), &g) != nil || g.Pin == nil || g.Level == nil {
		return false, false
	}
	if g.Op != "write" && g.Op != "toggle" {
		return false, false
	}
	pin := g.Port + "." + strconv.Itoa(*g.Pin)
	level := byte(*g.Level & 1)
	was, known := t.rep.pins[pin]
	t.rep.pins[pin] = level
	return g.Op == "write", g.Op == "write" && known && was == level
}
