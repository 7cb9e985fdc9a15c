package sdktest

import (
	"strings"
	"testing"
	"time"
)

// The board drives a button on PC13 through its timeline (pressed at 2 s,
// released at 2.5 s): each edge pends EXTI13 and the application's handler
// reads the level the board put there; a constant input beats the pin's
// pull; an LED model on PA5 follows the outputs, its state in the trace.
func TestPeriphGPIOBoard(t *testing.T) {
	t.Parallel()
	board := writeBoard(t, `{"version": 1, "gpio": [
  {"pin": "PC13", "input": [{"at": "0s", "level": 1}, {"at": "2s", "level": 0}, {"at": "2.5s", "level": 1}]},
  {"pin": "PB2", "input": 0},
  {"pin": "PA5", "model": "led"}
]}`)
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			t.Parallel()
			bin := compileFile(t, "periph_gpio", l)
			r := run(t, bin, map[string]string{"MVNET_BOARD": board}, 2*time.Minute)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			want := "button 1\nheld 0\nfalling 1 level 0\nrising 1 level 1\nready before the press 1"
			if got := strings.TrimSpace(r.stdout); got != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
			}
			var leds, exti []string
			for _, e := range r.lines("gpio") {
				switch e["op"] {
				case "write", "toggle":
					if e["port"] == "GPIOA" {
						leds = append(leds, e["op"].(string)+" "+str(e["device"])+" "+str(e["state"]))
					}
				case "exti":
					exti = append(exti, str(e["edge"]))
				}
			}
			if strings.Join(leds, ",") != "write led on,toggle led off" {
				t.Errorf("LED events: %v", leds)
			}
			if strings.Join(exti, ",") != "falling,rising" {
				t.Errorf("EXTI events: %v", exti)
			}
		})
	}
}

func str(v any) string { s, _ := v.(string); return s }

// HAL_UART_Receive returns the board's text as it comes, with ST's
// statuses; the echo model answers a transmitted line; HAL_UART_Receive_IT
// and HAL_UARTEx_ReceiveToIdle_IT complete through USART3_IRQHandler and
// ST's callbacks; the trace has the received bytes.
func TestPeriphUARTBoard(t *testing.T) {
	t.Parallel()
	board := writeBoard(t, `{"version": 1, "uart": [
  {"port": "USART2", "text": [{"at": "0s", "text": "hello\r\n"}, {"at": "1s", "text": "late"}]},
  {"port": "USART1", "model": "echo"},
  {"port": "USART3", "text": "ping\r\nxyz"}
]}`)
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			t.Parallel()
			bin := compileFile(t, "periph_uart", l)
			r := run(t, bin, map[string]string{"MVNET_BOARD": board}, 2*time.Minute)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			want := []string{
				"hello 0 got 7 [hello||] state 0x20",
				"late 3 got 4 [late] state 0x20", // HAL_TIMEOUT, RxXferCount 4
				"none 3 got 0 [] state 0x20",
				"echo 0 got 9 [AT+PING||] state 0x20",
				"empty 3 got 0 [] state 0x20",
				"it 0 got 6 [ping||] state 0x20",
				"idle 0 size 3 [xyz] type 0 state 0x20 in handler 2",
				// A blocking receive while an interrupt one waits is HAL_BUSY;
				// after HAL_UART_AbortReceive the handle is free again.
				"pending 0 busy 2 abort 0 after 3 state 0x20 callbacks 1 1",
			}
			// stdout also carries what the application transmits.
			var got []string
			for _, line := range strings.Split(r.stdout, "\n") {
				if i := strings.Index(line, "AT+PING\r"); i >= 0 {
					line = line[i+len("AT+PING\r"):]
				}
				if line != "" {
					got = append(got, line)
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("stdout:\n%q\nwant:\n%s", r.stdout, strings.Join(want, "\n"))
			}
			var rx []string
			for _, e := range r.lines("uart") {
				switch e["op"] {
				case "receive", "receive_it", "receive_to_idle_it":
					if e["status"] != nil {
						rx = append(rx, str(e["instance"])+" "+str(e["data"])+" "+str(e["status"]))
					}
				case "transmit":
					if e["device"] != "echo" {
						t.Errorf("transmit on USART1 without the echo device: %v", e)
					}
				}
			}
			wantRx := []string{"USART2 hello\r\n HAL_OK", "USART2 late HAL_TIMEOUT", "USART2  HAL_TIMEOUT",
				"USART1 AT+PING\r\n HAL_OK", "UART4  HAL_TIMEOUT",
				"USART3 ping\r\n complete", "USART3 xyz complete",
				"USART3  HAL_TIMEOUT"}
			if strings.Join(rx, "|") != strings.Join(wantRx, "|") {
				t.Errorf("receive events:\n%q\nwant\n%q", rx, wantRx)
			}
		})
	}
}

// Bad gpio and uart entries stop the application, naming line and field.
func TestPeriphBadIOBoard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ board, want string }{
		{"{\"version\": 1, \"gpio\": [\n  {\"pin\": \"PC13\", \"input\": 3}\n]}", "line 2: gpio[0].input[0].level: 3: want 0 or 1"},
		{"{\"version\": 1,\n \"uart\": [{\"port\": \"USART2\", \"model\": \"lis3dh\"}]}", "line 2: uart[0].model: lis3dh is not a UART model"},
	} {
		board := writeBoard(t, tc.board)
		bin := compileFile(t, "periph_uart", static)
		r := run(t, bin, map[string]string{"MVNET_BOARD": board}, time.Minute)
		if r.code != 2 || !strings.Contains(r.stderr, "MVNET_BOARD") || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("want exit 2 and %q:\n%v", tc.want, r)
		}
	}
}

// An MCP9808's alert output wired to PB11 ("pins") pulls the line low when
// the temperature timeline passes the limit the application set: EXTI11
// fires as for the real part.
func TestPeriphMCP9808AlertPin(t *testing.T) {
	t.Parallel()
	board := writeBoard(t, `{"version": 1, "devices": [
  {"bus": "I2C1", "address": "0x18", "model": "mcp9808", "pins": {"alert": "PB11"},
   "values": [{"at": "0s", "temperature_c": 21}, {"at": "1s", "temperature_c": 30}]}
]}`)
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			t.Parallel()
			bin := compileFile(t, "periph_alert", l)
			r := run(t, bin, map[string]string{"MVNET_BOARD": board}, 2*time.Minute)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			want := "alert line 1\ninit 0\nlimits 0 0 0\nconfig 0\nfalling 1 line 0 stat 0 1"
			if got := strings.TrimSpace(r.stdout); got != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
