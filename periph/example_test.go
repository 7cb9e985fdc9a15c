package periph_test

import (
	"fmt"

	"github.com/mvnet/mvnet/periph"
)

// A humidity sensor of our own: register 0x0F is a WHO_AM_I byte, 0x10 the
// relative humidity in percent. Embedding periph.RegisterFile gives it the
// pointer-then-data protocol; Register makes "myhygro" usable in a board
// file, where "values" sets its "humidity_pct" input.
func Example_customModel() {
	periph.MustRegister(periph.Model{
		Name:      "myhygro",
		Summary:   "example humidity sensor",
		Inputs:    map[string]float64{"humidity_pct": 50},
		Addresses: []uint16{0x40},
		NewI2C: func(env periph.Env) periph.I2CDevice {
			return &periph.RegisterFile{
				Load: func(reg byte) uint32 {
					switch reg {
					case 0x0F:
						return 0xB5
					case 0x10:
						return uint32(env.Input("humidity_pct"))
					}
					return 0
				},
				// Every register is read-only: NACK writes, as some parts do.
				Store: func(reg byte, v uint32) bool { return false },
			}
		},
	})

	board, err := periph.ParseBoard("board.json", []byte(`{
	  "version": 1,
	  "devices": [
	    {"bus": "I2C2", "address": "0x40", "model": "myhygro", "values": {"humidity_pct": 61}}
	  ]
	}`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	bus := board.I2C("I2C2")

	// What HAL_I2C_Mem_Read(&hi2c, 0x40 << 1, 0x10, I2C_MEMADD_SIZE_8BIT, buf, 1, …) does.
	buf := make([]byte, 1)
	r := bus.Transfer(0x40, periph.I2CSegment{Data: []byte{0x10}}, periph.I2CSegment{Read: true, Data: buf})
	fmt.Println("humidity:", buf[0], "ack:", r.OK())

	// A write is refused at its data byte; an absent address NACKs.
	fmt.Println("write:", bus.Transfer(0x40, periph.I2CSegment{Data: []byte{0x10, 1}}).DataNACK)
	fmt.Println("0x41:", bus.Transfer(0x41).AddrNACK)
	// Output:
	// humidity: 61 ack: true
	// write: true
	// 0x41: true
}

// atModem answers "AT" with "OK" and anything else with "ERROR", line by
// line, as a modem on a UART does.
type atModem struct {
	send func([]byte)
	line []byte
}

func (m *atModem) Transmitted(data []byte) {
	for _, c := range data {
		if c != '\r' && c != '\n' {
			m.line = append(m.line, c)
			continue
		}
		switch {
		case len(m.line) == 0: // the \n of a \r\n
		case string(m.line) == "AT":
			m.send([]byte("OK\r\n"))
		default:
			m.send([]byte("ERROR\r\n"))
		}
		m.line = m.line[:0]
	}
}

// A UART model of our own: registered with NewUART, a board file attaches
// it to a UART; what the application transmits reaches Transmitted, and
// what it sends with Env.Send is what HAL_UART_Receive returns.
func Example_uartModel() {
	periph.MustRegister(periph.Model{
		Name:    "atmodem",
		Summary: "example AT-command modem",
		NewUART: func(env periph.Env) periph.UARTDevice { return &atModem{send: env.Send} },
	})
	board, err := periph.ParseBoard("board.json", []byte(`{
	  "version": 1,
	  "uart": [{"port": "USART2", "model": "atmodem"}]
	}`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	u := board.UART("USART2")
	u.Transmit([]byte("AT\r\nATZ\r\n")) // HAL_UART_Transmit
	buf := make([]byte, 64)
	n := u.Read(buf, 0) // HAL_UART_Receive takes what has come
	fmt.Printf("%q\n", buf[:n])
	// Output:
	// "OK\r\nERROR\r\n"
}
