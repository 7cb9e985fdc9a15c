package periph

import (
	"testing"
	"time"
)

// readAll reads from u until n bytes came, waiting as long as it takes.
func readAll(u *UARTPort, n int) string {
	var out []byte
	buf := make([]byte, n)
	for len(out) < n {
		k := u.Read(buf[:n-len(out)], -1)
		out = append(out, buf[:k]...)
	}
	return string(out)
}

func TestUARTText(t *testing.T) {
	var clk fakeClock
	b, err := ParseBoard("b.json", []byte(`{"version": 1, "uart": [
  {"port": "USART2", "text": "hello\r\n"},
  {"port": "usart1", "text": [{"at": "1s", "text": "AT"}, {"at": "2s", "text": "+OK"}]}
]}`), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(b.UART("USART2"), 7); got != "hello\r\n" {
		t.Errorf("USART2: %q", got)
	}
	u := b.UART("USART1")
	buf := make([]byte, 8)
	if n := u.Read(buf, 0); n != 0 {
		t.Errorf("USART1 before 1 s: %q", buf[:n])
	}
	clk.set(5 * time.Second) // both chunks due: they come in order
	if got := readAll(u, 5); got != "AT+OK" {
		t.Errorf("USART1 after 2 s: %q", got)
	}
	if n := u.Read(buf, 0); n != 0 {
		t.Errorf("USART1 after all: %q", buf[:n])
	}
}

// A timeline chunk in the future arrives by waiting on the board's clock.
func TestUARTTextWaits(t *testing.T) {
	b := NewBoard(nil)
	if err := b.SendText("UART4", []Chunk{{10 * time.Millisecond, []byte("late")}}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(b.UART("UART4"), 4); got != "late" || b.now() < 10*time.Millisecond {
		t.Errorf("%q at %v", got, b.now())
	}
}

func TestUARTEcho(t *testing.T) {
	b := NewBoard(nil)
	if err := b.AttachUART("USART3", "echo"); err != nil {
		t.Fatal(err)
	}
	u := b.UART("USART3")
	if u.Device() != "echo" {
		t.Errorf("Device %q", u.Device())
	}
	u.Transmit([]byte("AT"))
	buf := make([]byte, 16)
	if n := u.Read(buf, 0); n != 0 {
		t.Errorf("echo answered an unfinished line: %q", buf[:n])
	}
	u.Transmit([]byte("+X\r"))
	u.Transmit([]byte("\nping\n"))
	if got := readAll(u, 11); got != "AT+X\r\nping\n" {
		t.Errorf("echo: %q", got)
	}
	// A reader waiting forever wakes when the model sends.
	done := make(chan string)
	go func() { done <- readAll(u, 3) }()
	u.Transmit([]byte("hi\n"))
	if got := <-done; got != "hi\n" {
		t.Errorf("waiting reader: %q", got)
	}
}
