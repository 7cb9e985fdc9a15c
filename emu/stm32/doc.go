// Package stm32 models the STM32U585's peripheral registers for the
// firmware emulator (package emu): each model is a bus.Device at its
// non-secure address, and SoC.Mappings places them all, with a catch-all
// over the rest of the non-secure peripheral space (0x40000000–0x4FFFFFFF)
// that reads zero, ignores writes and traces each register once
// ("stm32: unmodelled read of 0x46022060 (EXTI offset 0x60)…"). The secure
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
//     clock is PLL1 at 160 MHz from MSIS, as Microvisor leaves it. A
//     peripheral used while its enable bit (AHBxENR/APBxENR) is clear still
//     works, and is traced once. SoC.PeriphPeek32/PeriphPoke32 give the
//     kernel mvPeriphPeek32/mvPeriphPoke32 (the Microvisor HAL reaches RCC
//     only through them).
//   - GPIOA–GPIOI: MODER OTYPER OSPEEDR PUPDR IDR ODR BSRR LCKR AFRL AFRH
//     BRR. Output levels (ODR, BSRR, BRR on pins in output mode) go to the
//     board (periph.Board.SetPin: SPI chip selects, pin models) and changes
//     to the trace; IDR reads outputs back, inputs from the board's GPIO
//     timelines (periph.Board.NextInput), else the pull-up/down. EXTI is
//     not modelled.
//   - USART1–3, UART4–5, LPUART1: CR1 CR2 CR3 BRR PRESC ISR ICR RQR RDR TDR.
//     TDR bytes go to Options.Out and the board's UART peer at once (TXE and
//     TC set again); RDR takes the board's UART port (text timelines and
//     peers); TEACK/REACK follow TE/RE. TXEIE, TCIE, RXNEIE, IDLEIE and
//     EIE pend the USART's IRQ; with RXNEIE the arrival of the board's
//     timeline text is scheduled on the virtual clock (nothing is scheduled
//     for an idle UART), and a peer's answer is taken right after the byte
//     that caused it. The line rate (BRR, PRESC) is traced when UE is set.
//     FIFO mode, DMA, synchronous, LIN, smartcard and IrDA modes are not
//     modelled.
//
// For a deterministic run the board must be made on the same virtual
// clock (periph.NewBoard(machine.Now)): timelines are read on it.
//   - I2C1–4 (controller): CR1 CR2 OAR1 OAR2 TIMINGR TIMEOUTR ISR ICR RXDR
//     TXDR. START/STOP/NBYTES/RELOAD/AUTOEND/RD_WRN become transactions on
//     the board's bus (periph.I2CBus.Begin, the models the host SDK uses):
//     TXIS/RXNE per byte, TC, TCR, STOPF, NACKF when nobody or the device
//     refuses, BUSY; the event interrupt for TXIE RXIE NACKIE STOPIE TCIE.
//     Target mode, 10-bit addresses, SMBus and PEC are not modelled.
//   - SPI1–3 (controller): CR1 CR2 CFG1 CFG2 IER SR IFCR TXDR RXDR: TSIZE
//     frames after CSTART, clocked through the board's bus
//     (periph.SPIBus) as TXDR is written, RXP/TXP/DXP/EOT/TXTF/RXPLVL/RXWNE
//     and CTSIZE as the HAL polls them, hardware NSS (SSOE) from CSTART to
//     EOT, full duplex, transmit-only and receive-only (0xFF out); the IRQ
//     for IER's events. CRC, slave mode and DMA are not modelled.
//   - TIM2–TIM7: CR1 (CEN UDIS URS OPM ARPE) DIER (UIE) SR (UIF) EGR (UG)
//     CNT PSC ARR, counting up on the virtual clock at PClk/(PSC+1) with
//     nothing done per tick: the counter is computed from the time since
//     the last change and the update event is scheduled (Options.At),
//     raising UIF and the timer's IRQ. Other registers (capture/compare,
//     slave mode) are stored and traced once.
//   - FLASH (ACR latency read back, NSKEYR unlock, NSSR never busy), PWR
//     (VOSR VOSRDY/BOOSTRDY, SVMSR ACTVOS/ACTVOSRDY/REGS answered ready),
//     ICACHE and DCACHE1 (invalidate completes at once), SYSCFG: accepted,
//     registers stored and read back, each traced once.
package stm32
