package periph

import (
	"testing"
	"time"
)

// A transaction driven step by step (I2CBus.Begin) reads what Transfer
// reads, and an absent address NACKs with no connection.
func TestI2CConnMatchesTransfer(t *testing.T) {
	b := NewI2CBus("I2C1")
	if err := b.Attach(0x18, "mcp9808", NewMCP9808(func() float64 { return 21.25 })); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 2)
	if r := b.Transfer(0x18, I2CSegment{Data: []byte{MCP9808RegTA}}, I2CSegment{Read: true, Data: want}); !r.OK() {
		t.Fatalf("Transfer: %+v", r)
	}
	c, ok := b.Begin(0x18, false)
	if !ok || !c.Write(MCP9808RegTA) || !c.Restart(true) {
		t.Fatal("the MCP9808 refused the address or the register pointer")
	}
	got := []byte{c.Read(), c.Read()}
	if dev, _ := c.Stop(); dev != "mcp9808" || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("step by step read % x from %q, Transfer % x", got, dev, want)
	}
	if c, ok := b.Begin(0x50, true); ok || c != nil {
		t.Fatal("an absent address was acknowledged")
	}
}

type selLog struct{ log []string }

func (s *selLog) Select()              { s.log = append(s.log, "select") }
func (s *selLog) Deselect()            { s.log = append(s.log, "deselect") }
func (s *selLog) Exchange(b byte) byte { s.log = append(s.log, "x"); return b + 1 }

// SetNSS holds the NSS device selected across byte-at-a-time transfers.
func TestSPISetNSS(t *testing.T) {
	b := NewSPIBus("SPI1")
	d := &selLog{}
	if err := b.Attach(NSS, "log", d); err != nil {
		t.Fatal(err)
	}
	b.SetNSS(true)
	b.SetNSS(true)
	rx := make([]byte, 1)
	for i := range 2 {
		b.Transfer(false, []byte{byte(i)}, rx)
		if rx[0] != byte(i)+1 {
			t.Fatalf("byte %d answered %d", i, rx[0])
		}
	}
	b.SetNSS(false)
	if got := len(d.log); got != 4 || d.log[0] != "select" || d.log[3] != "deselect" {
		t.Fatalf("log %v, want select x x deselect", d.log)
	}
}

// Poll hands out what has arrived by the board's clock, without waiting;
// NextText says when the next timeline text arrives.
func TestUARTPoll(t *testing.T) {
	var now time.Duration
	b := NewBoard(func() time.Duration { return now })
	if err := b.SendText("USART2", []Chunk{{At: time.Second, Text: []byte("ab")}}); err != nil {
		t.Fatal(err)
	}
	u := b.UART("USART2")
	p := make([]byte, 4)
	if n := u.Poll(p); n != 0 {
		t.Fatalf("Poll before the text is due returned %d bytes", n)
	}
	if at, ok := u.NextText(); !ok || at != time.Second {
		t.Fatalf("NextText %v %v, want 1s", at, ok)
	}
	now = time.Second
	if n := u.Poll(p[:1]); n != 1 || p[0] != 'a' {
		t.Fatalf("Poll %d %q", n, p[:n])
	}
	if n := u.Poll(p); n != 1 || p[0] != 'b' {
		t.Fatalf("second Poll %d %q", n, p[:n])
	}
	if _, ok := u.NextText(); ok {
		t.Fatal("NextText with nothing more scheduled")
	}
}

// NextInputAt names the time of the next timeline point and, once they
// are all handed out, reports that nothing more comes.
func TestNextInputAt(t *testing.T) {
	var now time.Duration
	b := NewBoard(func() time.Duration { return now })
	if _, ok := b.NextInputAt(); ok {
		t.Fatal("an empty board has inputs to come")
	}
	if err := b.DriveInput("PC13", []Level{{At: 0, Level: 1}, {At: 5 * time.Millisecond, Level: 0}}); err != nil {
		t.Fatal(err)
	}
	if at, ok := b.NextInputAt(); !ok || at != 0 {
		t.Fatalf("NextInputAt %v %v, want 0 (the first level at once)", at, ok)
	}
	if _, ok, _ := b.NextInput(0); !ok {
		t.Fatal("the first level was not handed out")
	}
	if at, ok := b.NextInputAt(); !ok || at != 5*time.Millisecond {
		t.Fatalf("NextInputAt %v %v, want 5ms", at, ok)
	}
	now = 5 * time.Millisecond
	if c, ok, _ := b.NextInput(0); !ok || c.Level != 0 {
		t.Fatalf("at 5 ms: %+v %v", c, ok)
	}
	if _, ok := b.NextInputAt(); ok {
		t.Fatal("inputs still to come after the timeline ended")
	}
}
