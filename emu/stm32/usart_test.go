package stm32

import (
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/periph"
)

// uartInit is HAL_UART_Init for 115200 8N1 at 160 MHz: UE off, CR1/CR2/
// CR3/BRR, UE on, then UART_CheckIdleState waiting for TEACK and REACK.
func uartInit(r *rig, base uint32) {
	r.t.Helper()
	r.clear(base+usartCR1, cr1UE)
	r.modify(base+usartCR1, 0xFFFF, cr1TE|cr1RE)
	r.modify(base+usartCR2, 3<<12, 0)
	r.modify(base+usartCR3, 0x300, 0)
	r.w32(base+usartPRESC, 0)
	r.w32(base+usartBRR, (160_000_000+115200/2)/115200)
	r.set(base+usartCR1, cr1UE)
	r.flagSet(base+usartISR, isrTEACK, "TEACK")
	r.flagSet(base+usartISR, isrREACK, "REACK")
}

// HAL_UART_Transmit: wait TXE, write TDR, per byte; then wait TC.
func TestUSARTTransmit(t *testing.T) {
	r := newRig(t, nil)
	base := usartTable[1].base // USART2
	r.enableClock(usartTable[1].clock)
	uartInit(r, base)
	for _, b := range []byte("hello\r\n") {
		r.flagSet(base+usartISR, isrTXE, "TXE")
		r.w32(base+usartTDR, uint32(b))
	}
	r.flagSet(base+usartISR, isrTC, "TC")
	if got := string(r.out["USART2"]); got != "hello\r\n" {
		t.Fatalf("USART2 sent %q, want %q", got, "hello\r\n")
	}
	if got := r.tracesWith("USART2 enabled"); len(got) != 1 || !strings.Contains(got[0], "115190 baud (BRR 0x56d)") {
		t.Fatalf("traces %q, want the line rate BRR 1389 gives (115190 baud)", got)
	}
	if len(r.irqs) != 0 {
		t.Fatalf("interrupts %v pended with none enabled", r.irqs)
	}
}

// HAL_UART_Transmit_IT: TXEIE pends USART1 (IRQ 61) while TDR can take a
// byte; the handler's last byte swaps TXEIE for TCIE, whose TC pends again.
func TestUSARTTransmitInterrupt(t *testing.T) {
	r := newRig(t, nil)
	base := usartTable[0].base
	uartInit(r, base)
	r.set(base+usartCR1, cr1TXEIE)
	if r.irqCount(61) == 0 {
		t.Fatalf("TXEIE with TXE set pended %v, want USART1_IRQn 61", r.irqs)
	}
	r.irqs = nil
	r.w32(base+usartTDR, 'x')
	r.modify(base+usartCR1, cr1TXEIE, cr1TCIE)
	if r.irqCount(61) == 0 {
		t.Fatal("TCIE with TC set did not pend IRQ 61")
	}
	r.w32(base+usartICR, isrTC) // TCCF
	r.clear(base+usartCR1, cr1TCIE)
	r.irqs = nil
	r.r32(base + usartISR)
	if len(r.irqs) != 0 {
		t.Fatalf("pended %v with every interrupt off", r.irqs)
	}
}

// Text the board sends arrives in RDR; with RXNEIE it pends USART2's IRQ
// (62) when it arrives on the virtual clock.
func TestUSARTReceive(t *testing.T) {
	clk := &clock{}
	board := periph.NewBoard(clk.Now)
	if err := board.SendText("USART2", []periph.Chunk{{At: time.Millisecond, Text: []byte("ok")}}); err != nil {
		t.Fatal(err)
	}
	if err := board.AttachUART("USART3", "echo"); err != nil {
		t.Fatal(err)
	}
	r := newRigAt(t, clk, board)
	base := usartTable[1].base
	uartInit(r, base)
	r.set(base+usartCR1, cr1RXNEIE) // HAL_UART_Receive_IT
	clk.advance(900 * time.Microsecond)
	if r.irqCount(62) != 0 || r.r32(base+usartISR)&isrRXNE != 0 {
		t.Fatal("RXNE before the text arrived")
	}
	clk.advance(1200 * time.Microsecond)
	if r.irqCount(62) == 0 {
		t.Fatalf("no USART2 interrupt once the text arrived (irqs %v)", r.irqs)
	}
	var got []byte
	for range 2 {
		r.flagSet(base+usartISR, isrRXNE, "RXNE")
		got = append(got, byte(r.r32(base+usartRDR)))
	}
	if string(got) != "ok" || r.r32(base+usartISR)&isrRXNE != 0 {
		t.Fatalf("received %q, want \"ok\" and RXNE clear after", got)
	}
	if r.r32(base+usartISR)&isrIDLE == 0 {
		t.Fatal("IDLE not set once the text was all read")
	}
	r.w32(base+usartICR, isrIDLE) // IDLECF
	if r.r32(base+usartISR)&isrIDLE != 0 {
		t.Fatal("IDLE not cleared by IDLECF")
	}
	if len(clk.timers) != 0 {
		t.Fatalf("%d timers left with nothing more to receive: an idle UART must not keep the clock awake", len(clk.timers))
	}

	// An echo peer on USART3 answers each line at once.
	b3 := usartTable[2].base
	uartInit(r, b3)
	for _, b := range []byte("hi\n") {
		r.w32(b3+usartTDR, uint32(b))
	}
	got = nil
	for range 3 {
		r.flagSet(b3+usartISR, isrRXNE, "RXNE")
		got = append(got, byte(r.r32(b3+usartRDR)))
	}
	if string(got) != "hi\n" {
		t.Fatalf("echo returned %q, want %q", got, "hi\n")
	}
}

// LPUART1's BRR is 256·fck/baud (RM0456 LPUART): 355555 is 115200 baud at
// 160 MHz; output goes out under its name.
func TestLPUARTRate(t *testing.T) {
	r := newRig(t, nil)
	lp := usartTable[5]
	r.w32(lp.base+usartBRR, 256*160_000_000/115200)
	r.w32(lp.base+usartCR1, cr1TE|cr1UE)
	r.w32(lp.base+usartTDR, 'z')
	if got := r.tracesWith("LPUART1 enabled"); len(got) != 1 || !strings.Contains(got[0], "115200 baud") {
		t.Fatalf("traces %q, want LPUART1 at 115200 baud", got)
	}
	if string(r.out["LPUART1"]) != "z" {
		t.Fatalf("LPUART1 sent %q", r.out["LPUART1"])
	}
}
