package periph

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// UARTNames are the U(S)ARTs of the STM32U585 the C SDK's HAL serves, in
// its order (csdk/hal/hal_uart.c).
var UARTNames = []string{"USART1", "USART2", "USART3", "UART4", "UART5", "LPUART1"}

// UARTDevice is a model attached to a UART's lines: Transmitted hears the
// bytes the application sends (never concurrently); the device sends bytes
// to the application with its Env's Send, at any time (also from within
// Transmitted).
type UARTDevice interface {
	Transmitted(data []byte)
}

// Chunk is one point of a UART text timeline: Text arrives at At.
type Chunk struct {
	At   time.Duration
	Text []byte
}

// UARTPort is one UART's receive side as the board feeds it: what devices
// and timelines sent that the application has not read yet. Received bytes
// wait here without limit (a real UART keeps one and overruns).
type UARTPort struct {
	Name string

	now    func() time.Duration
	mu     sync.Mutex
	buf    []byte
	chunks []Chunk // timeline text not yet due, in time order
	wake   chan struct{}
	dev    UARTDevice
	model  string
	devMu  sync.Mutex // serialises Transmitted
}

func newUARTPort(name string, now func() time.Duration) *UARTPort {
	return &UARTPort{Name: name, now: now, wake: make(chan struct{})}
}

// Send puts data on the line to the application.
func (u *UARTPort) Send(data []byte) {
	if len(data) == 0 {
		return
	}
	u.mu.Lock()
	u.buf = append(u.buf, data...)
	close(u.wake)
	u.wake = make(chan struct{})
	u.mu.Unlock()
}

// Device is the name of the model attached ("" for none or text only).
func (u *UARTPort) Device() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.model
}

// Transmit is the application sending data: the attached model hears it.
func (u *UARTPort) Transmit(data []byte) {
	u.mu.Lock()
	d := u.dev
	u.mu.Unlock()
	if d == nil || len(data) == 0 {
		return
	}
	u.devMu.Lock()
	defer u.devMu.Unlock()
	d.Transmitted(append([]byte(nil), data...))
}

// Read moves up to len(p) received bytes into p, waiting for the first on
// the board's clock for at most wait (negative: as long as it takes). It
// returns how many it moved: 0 when nothing came within wait.
func (u *UARTPort) Read(p []byte, wait time.Duration) int {
	if len(p) == 0 {
		return 0
	}
	var deadline <-chan time.Time
	if wait >= 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		u.mu.Lock()
		now := u.now()
		for len(u.chunks) > 0 && u.chunks[0].At <= now {
			u.buf = append(u.buf, u.chunks[0].Text...)
			u.chunks = u.chunks[1:]
		}
		if len(u.buf) > 0 {
			n := copy(p, u.buf)
			u.buf = u.buf[n:]
			u.mu.Unlock()
			return n
		}
		wake := u.wake
		var next <-chan time.Time
		var t *time.Timer
		if len(u.chunks) > 0 {
			t = time.NewTimer(u.chunks[0].At - now)
			next = t.C
		}
		u.mu.Unlock()
		select {
		case <-wake:
		case <-next:
		case <-deadline:
			stopTimer(t)
			return 0
		}
		stopTimer(t)
	}
}

// UART returns the port named name ("USART2" …), nil if there is none.
func (b *Board) UART(name string) *UARTPort { return b.uart[name] }

// canonicalUART checks a UART name.
func canonicalUART(name string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(name))
	for _, n := range UARTNames {
		if u == n {
			return n, nil
		}
	}
	return "", fmt.Errorf("%q is not a UART (want one of %s)", name, strings.Join(UARTNames, ", "))
}

// AttachUART places model (one with NewUART) on the UART port.
func (b *Board) AttachUART(port, model string) error {
	name, err := canonicalUART(port)
	if err != nil {
		return &fieldError{"port", err}
	}
	m, err := lookupFor(model, "a UART model", func(m Model) bool { return m.NewUART != nil })
	if err != nil {
		return err
	}
	u := b.uart[name]
	env := Env{UART: name, Now: b.now, Send: u.Send, Input: func(n string) float64 { return m.Inputs[n] }}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.dev != nil {
		return &fieldError{"port", fmt.Errorf("%s already has %s", name, u.model)}
	}
	u.dev, u.model = m.NewUART(env), m.Name
	b.notes = append(b.notes, fmt.Sprintf("%s %s", name, m.Name))
	return nil
}

// SendText schedules text for the application on the UART port: chunks in
// time order (At strictly increasing) on the board's clock.
func (b *Board) SendText(port string, chunks []Chunk) error {
	name, err := canonicalUART(port)
	if err != nil {
		return &fieldError{"port", err}
	}
	for i, c := range chunks {
		if c.At < 0 {
			return &fieldError{fmt.Sprintf("text[%d].at", i), fmt.Errorf("%v is negative", c.At)}
		}
		if i > 0 && c.At <= chunks[i-1].At {
			return &fieldError{fmt.Sprintf("text[%d].at", i), fmt.Errorf("%v is not after the previous point's %v", c.At, chunks[i-1].At)}
		}
	}
	u := b.uart[name]
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.chunks) > 0 {
		return &fieldError{"port", fmt.Errorf("%s has text from an earlier entry", name)}
	}
	u.chunks = append([]Chunk(nil), chunks...)
	b.notes = append(b.notes, fmt.Sprintf("%s text", name))
	return nil
}

// echo is the built-in "echo" UART model: a line-based peer that sends
// every line it receives back, terminator included, once the line ends
// ("\n", or "\r" not followed by "\n").
type echo struct {
	send func([]byte)
	line []byte
	cr   bool // the last line ended with "\r": a "\n" next belongs to it
}

func (e *echo) Transmitted(data []byte) {
	for _, c := range data {
		if c == '\n' && e.cr {
			e.cr = false
			e.send([]byte{'\n'})
			continue
		}
		e.cr = false
		e.line = append(e.line, c)
		if c == '\n' || c == '\r' {
			e.send(e.line)
			e.line, e.cr = nil, c == '\r'
		}
	}
}

func init() {
	MustRegister(Model{
		Name:    "echo",
		Summary: "a UART peer that sends each line it receives back",
		NewUART: func(env Env) UARTDevice { return &echo{send: env.Send} },
	})
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}
