// Package stm32 models the STM32U585's peripheral registers for the
// firmware emulator (package emu): each model is a bus.Device at its
// non-secure address, and SoC.Mappings places them all, with a catch-all
// over the rest of the non-secure peripheral space (0x40000000–0x4FFFFFFF)
// that reads zero, ignores writes and traces each register once
// ("stm32: unmodelled read of 0x40023004 (CRC offset 0x4)…"). The secure
// aliases (0x50000000–0x5FFFFFFF) are left unmapped: a non-secure
// application's access there faults, as on the device.
//
// The models are driven the way ST's HAL and LL drive the part, so an
// image built against the Microvisor HAL runs unmodified. Addresses and
// interrupt numbers come from stm32u585xx.h (addr.go); register layouts and
// bits from RM0456. Bytes move at once: a transfer takes no virtual time.
//
// # What each model implements
//
//   - RCC: every register stored and read back; oscillator and PLL ready
//     flags (CR, BDCR) follow their ON bits at once, CFGR1 SWS follows SW,
//     so HAL_RCC_OscConfig/ClockConfig return HAL_OK. At reset the system
//     clock is PLL1 at 160 MHz (from HSI16), as Microvisor leaves it; a
//     setting that gives another HCLK is traced once (the emulator keeps
//     its clock, so time the firmware derives from its own would be off). A
//     peripheral used while its enable bit (AHBxENR/APBxENR) is clear still
//     works, and is traced once. Setting a peripheral's reset bit
//     (AHBxRSTR/APBxRSTR, __HAL_RCC_xxx_FORCE_RESET) puts its model back in
//     its reset state, ending what it held (an I2C transaction, a timer's
//     next update, the SPI's NSS). SoC.PeriphPeek32/PeriphPoke32 give the
//     kernel mvPeriphPeek32/mvPeriphPoke32 on RCC, the one peripheral
//     Microvisor serves them for (the Microvisor HAL reaches RCC mostly
//     through them).
//   - GPIOA–GPIOI: MODER OTYPER OSPEEDR PUPDR IDR ODR BSRR LCKR AFRL AFRH
//     BRR. Output levels (ODR, BSRR, BRR on pins in output mode) go to the
//     board (periph.Board.SetPin: SPI chip selects, pin models) and changes
//     to the trace; IDR reads outputs back, inputs from the board's GPIO
//     timelines (periph.Board.NextInput), else the pull-up/down.
//   - EXTI lines 0–15: EXTICR1–4 RTSR1 FTSR1 IMR1 RPR1 FPR1 SWIER1. An edge
//     of a board-driven input (a level change after its first) on the port
//     a line follows sets RPR1/FPR1 and pends EXTIn_IRQn (11+n); while a
//     line waits, the board's next input change is scheduled on the virtual
//     clock (periph.Board.NextInputAt). Events (EMR1), the lines above 15
//     and the other registers are stored and traced once.
//   - USART1–3, UART4–5, LPUART1: CR1 CR2 CR3 BRR PRESC ISR ICR RQR RDR TDR.
//     TDR bytes go to Options.Out and the board's UART peer at once (TXE and
//     TC set again); RDR takes the board's UART port (text timelines and
//     peers), IDLE once RDR is read with nothing more arrived; TEACK/REACK
//     follow TE/RE. TXEIE, TCIE, RXNEIE, IDLEIE and EIE pend the USART's
//     IRQ; with RXNEIE the arrival of the board's timeline text is
//     scheduled on the virtual clock (nothing is scheduled for an idle
//     UART), and a peer's answer is taken right after the byte that caused
//     it. The line rate (BRR, PRESC) is traced when UE is set. FIFO mode,
//     DMA, synchronous, LIN, smartcard and IrDA modes are not modelled.
//   - I2C1–4 (controller): CR1 CR2 OAR1 OAR2 TIMINGR TIMEOUTR ISR ICR RXDR
//     TXDR. START/STOP/NBYTES/RELOAD/AUTOEND/RD_WRN become transactions on
//     the board's bus (periph.I2CBus.Begin, the models the host SDK uses):
//     TXIS/RXNE per byte, TC, TCR, STOPF, NACKF when nobody or the device
//     refuses, BUSY; the event interrupt for TXIE RXIE NACKIE STOPIE TCIE.
//     Target mode, 10-bit addresses, SMBus, PEC and DMA are not modelled.
//   - SPI1–3 (controller): CR1 CR2 CFG1 CFG2 IER SR IFCR TXDR RXDR: TSIZE
//     frames after CSTART, clocked through the board's bus
//     (periph.SPIBus) as TXDR is written, RXP/TXP/DXP/EOT/TXTF/RXPLVL/RXWNE
//     and CTSIZE as the HAL polls them, hardware NSS (SSOE) from CSTART to
//     EOT, full duplex, simplex and half duplex (HDDIR), receiving with
//     0xFF clocked out; the IRQ for IER's events. CRC, slave mode and DMA
//     are not modelled.
//   - TIM2–TIM7: CR1 (CEN UDIS URS OPM ARPE UIFREMAP) DIER (UIE) SR (UIF)
//     EGR (UG) CNT PSC ARR, counting up on the virtual clock at
//     PClk/(PSC+1) (ARR 0 blocks it) with nothing done per tick: the
//     counter is computed from the time since the last change and the
//     update event is scheduled (Options.At), raising UIF and the timer's
//     IRQ. Down and centre-aligned counting are traced and count up; other
//     registers (capture/compare, master/slave mode) are stored and traced
//     once.
//   - FLASH (ACR latency read back, NSKEYR unlock, NSSR never busy), PWR
//     (VOSR VOSRDY/BOOSTRDY, SVMSR ACTVOS/ACTVOSRDY/REGS answered ready),
//     ICACHE and DCACHE1 (invalidate completes at once), SYSCFG: accepted,
//     registers stored and read back, each traced once.
//
// SoC.Reset puts every model back in its reset state (a system reset).
//
// # Time and determinism
//
// The models run on the machine goroutine (bus accesses and Options.At
// callbacks) and never look at the wall clock: what they schedule is on
// the virtual clock, and nothing is scheduled while nothing is awaited (an
// idle UART, no EXTI line enabled, a stopped timer), so sleeping firmware
// lets virtual time jump. For a deterministic run the board must be made
// on the same virtual clock (periph.NewBoard(machine.Now)): its timelines
// are read on it.
package stm32
