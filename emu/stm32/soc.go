package stm32

import (
	"fmt"
	"sort"
	"time"

	"github.com/mvnet/mvnet/emu/bus"
	"github.com/mvnet/mvnet/periph"
)

// DefaultPClk is the APB clock the models assume when Options.PClk is 0:
// Microvisor runs the STM32U585 at 160 MHz with the APB prescalers at 1
// (mvGetPClk1/mvGetPClk2 report the same).
const DefaultPClk = 160_000_000

// The peripheral space of the part (stm32u585xx.h, PERIPH_BASE_NS and
// PERIPH_BASE_S): the non-secure aliases at 0x40000000 and the secure ones
// at 0x50000000. A Microvisor application runs non-secure: the secure
// aliases are not its to reach, and an access there is left unmapped (the
// bus faults, as the SAU makes it fault on the device).
const (
	PeriphBase = 0x40000000
	PeriphEnd  = 0x50000000 // exclusive
	secureBase = 0x50000000 // PERIPH_BASE_S
)

// Options configure the models.
type Options struct {
	// Board holds the devices on the I2C and SPI buses, the GPIO inputs
	// and outputs and the UART peers. Nil: an empty board (every I2C
	// address NACKs, SPI reads 0xFF, no UART input).
	Board *periph.Board
	// PendIRQ pends external interrupt n (exception 16+n). Nil: interrupts
	// are not delivered.
	PendIRQ func(n uint32)
	// Now is the virtual time since reset; At runs fn on the machine
	// goroutine once virtual time reaches t. Nil Now: time stands still at
	// 0; nil At: timers are only brought up to date when read.
	Now func() time.Duration
	At  func(t time.Duration, fn func())
	// Out receives what a U(S)ART transmits (name "USART2" …), a byte at a
	// time; the caller buffers lines.
	Out func(name string, b []byte)
	// Trace receives one line for events worth a trace: an unmodelled
	// register (once per register), a peripheral used with its clock off
	// (once per peripheral), a GPIO output changing, a model accepting a
	// register it only stores (once per register).
	Trace func(line string)
	// PClk is the APB (and timer kernel) clock in hertz; 0 is DefaultPClk.
	PClk uint64
}

// SoC is the set of peripheral models of one machine. All its methods
// run on the machine goroutine (bus accesses and At callbacks).
type SoC struct {
	o      Options
	ms     []bus.Mapping
	traced map[string]bool
	rcc    *rcc
	gpios  [9]*gpio
	exti   *exti
	// resets are the models' RCC reset bits (RSTR register, bit);
	// restarts put each model back in its reset state.
	resets   map[clockGate]func()
	restarts []func()
	// inputsAt is the virtual time the GPIO inputs were last taken from
	// the board; inputsDone: the board has no more to give.
	inputsAt   time.Duration
	inputsDone bool
}

// New builds the models.
func New(o Options) (*SoC, error) {
	if o.PClk == 0 {
		o.PClk = DefaultPClk
	}
	if o.Now == nil {
		o.Now = func() time.Duration { return 0 }
	}
	if o.Board == nil {
		o.Board = periph.NewBoard(o.Now) // on the virtual clock, never the wall's
	}
	s := &SoC{o: o, traced: map[string]bool{}, inputsAt: -1, resets: map[clockGate]func(){}}
	for _, c := range i2cTable {
		if o.Board.I2C(c.name) == nil {
			return nil, fmt.Errorf("stm32: the board has no bus %s", c.name)
		}
	}
	for _, c := range spiTable {
		if o.Board.SPI(c.name) == nil {
			return nil, fmt.Errorf("stm32: the board has no bus %s", c.name)
		}
	}
	s.add("RCC", rccBase, nil, func() regDevice { s.rcc = newRCC(s); return s.rcc })
	for i := range 9 {
		name := fmt.Sprintf("GPIO%c", 'A'+i)
		s.add(name, gpioBase+uint32(i)*blockSize, &clockGate{rccAHB2ENR1, uint32(i)}, func() regDevice {
			s.gpios[i] = newGPIO(s, i)
			return s.gpios[i]
		})
	}
	for _, u := range usartTable {
		s.add(u.name, u.base, &u.clock, func() regDevice { return newUSART(s, u) })
	}
	for _, c := range i2cTable {
		s.add(c.name, c.base, &c.clock, func() regDevice { return newI2C(s, c) })
	}
	for _, c := range spiTable {
		s.add(c.name, c.base, &c.clock, func() regDevice { return newSPI(s, c) })
	}
	for _, c := range timTable {
		s.add(c.name, c.base, &c.clock, func() regDevice { return newTIM(s, c) })
	}
	s.add("EXTI", extiBase, nil, func() regDevice { s.exti = newEXTI(s); return s.exti })
	for _, a := range acceptedTable {
		s.add(a.name, a.base, a.clock, func() regDevice { return newAccepted(s, a) })
	}
	if err := s.fillGaps(); err != nil {
		return nil, err
	}
	return s, nil
}

// Mappings returns every mapping, in address order: the models and the
// catch-all over the rest of the non-secure peripheral space. Add them all
// to the machine's bus.
func (s *SoC) Mappings() []bus.Mapping { return append([]bus.Mapping(nil), s.ms...) }

// blockSize is the address range each model occupies: every peripheral of
// the part sits in a 1 KiB slot (stm32u585xx.h's *_BASE_NS addresses).
const blockSize = 0x400

// add maps the model mk makes at base. Its RCC reset bit (the enable
// bit's place in the matching RSTR register) replaces it with a new one.
func (s *SoC) add(name string, base uint32, gate *clockGate, mk func() regDevice) {
	ra := &regAccess{s: s, name: name, d: mk(), gate: gate}
	s.ms = append(s.ms, bus.Mapping{Name: name, Base: base, Size: blockSize, Device: ra})
	restart := func() {
		if r, ok := ra.d.(releaser); ok {
			r.release()
		}
		ra.d = mk()
	}
	s.restarts = append(s.restarts, restart)
	if gate == nil {
		return
	}
	rst := clockGate{gate.reg - rccENRToRSTR, gate.bit}
	s.resets[rst] = func() {
		restart()
		s.trace(fmt.Sprintf("stm32: %s reset (RCC %s bit %d)", name, rccRegName(rst.reg), rst.bit))
	}
}

// Reset puts every model back in its reset state, as a system reset
// (AIRCR SYSRESETREQ, mvRestart) does on the device; what the models held
// outside (bus transactions, scheduled events) is let go. The board keeps
// its state: its devices are not part of the MCU.
func (s *SoC) Reset() {
	for _, restart := range s.restarts {
		restart()
	}
	s.traced = map[string]bool{}
	s.inputsAt = -1
}

// releaser is a model holding something outside itself (a bus
// transaction, a scheduled event) that a reset must let go.
type releaser interface{ release() }

// fillGaps maps the catch-all over the peripheral space no model holds.
func (s *SoC) fillGaps() error {
	sort.Slice(s.ms, func(i, j int) bool { return s.ms[i].Base < s.ms[j].Base })
	var m bus.Map
	for _, mp := range s.ms {
		if err := m.Add(mp); err != nil {
			return fmt.Errorf("stm32: %w", err)
		}
	}
	next := uint64(PeriphBase)
	var gaps []bus.Mapping
	for _, mp := range s.ms {
		if uint64(mp.Base) > next {
			gaps = append(gaps, s.gap(uint32(next), uint32(uint64(mp.Base)-next)))
		}
		next = uint64(mp.Base) + uint64(mp.Size)
	}
	if next < PeriphEnd {
		gaps = append(gaps, s.gap(uint32(next), uint32(PeriphEnd-next)))
	}
	s.ms = append(s.ms, gaps...)
	sort.Slice(s.ms, func(i, j int) bool { return s.ms[i].Base < s.ms[j].Base })
	return nil
}

func (s *SoC) gap(base, size uint32) bus.Mapping {
	return bus.Mapping{Name: "unmodelled", Base: base, Size: size, Device: &unmodelled{s: s, base: base}}
}

// traceOnce emits line the first time key is seen.
func (s *SoC) traceOnce(key, line string) {
	if s.traced[key] {
		return
	}
	s.traced[key] = true
	s.trace(line)
}

func (s *SoC) trace(line string) {
	if s.o.Trace != nil {
		s.o.Trace(line)
	}
}

func (s *SoC) pend(n uint32) {
	if s.o.PendIRQ != nil {
		s.o.PendIRQ(n)
	}
}

// unmodelled reads zero and ignores writes, tracing each register once.
type unmodelled struct {
	s    *SoC
	base uint32
}

func (u *unmodelled) Load(off uint32, size int) (uint32, bool) {
	u.note(off, "read")
	return 0, true
}

func (u *unmodelled) Store(off uint32, size int, v uint32) bool {
	u.note(off, fmt.Sprintf("write (%#x)", v))
	return true
}

func (u *unmodelled) note(off uint32, what string) {
	addr := (u.base + off) &^ 3
	u.s.traceOnce(fmt.Sprintf("reg %#08x", addr),
		fmt.Sprintf("stm32: unmodelled %s of %#08x (%s): reads zero, writes ignored", what, addr, peripheralAt(addr)))
}

// PeriphPeek32 reads the 32-bit register at addr as mvPeriphPeek32 does
// for the kernel (the Microvisor HAL reaches RCC only through it: its
// MV_READ_REG and MV_SET_BIT, mv_bitops.h). addr may be the register's
// non-secure or secure alias. ok is false outside RCC, the one peripheral
// Microvisor serves these calls for, and for an unaligned address: the
// kernel answers MV_STATUS_PERIPHERALACCESSFAULT then.
func (s *SoC) PeriphPeek32(addr uint32) (v uint32, ok bool) {
	ra, off, ok := s.find(addr)
	if !ok {
		return 0, false
	}
	return ra.Load(off, 4)
}

// PeriphPoke32 changes the 32-bit register at addr as mvPeriphPoke32 does:
// it becomes (reg &^ mask) ^ xor (spec: abi.Calls mvPeriphPoke32).
func (s *SoC) PeriphPoke32(addr, mask, xor uint32) bool {
	ra, off, ok := s.find(addr)
	if !ok {
		return false
	}
	v, ok := ra.Load(off, 4)
	if !ok {
		return false
	}
	return ra.Store(off, 4, (v&^mask)^xor)
}

func (s *SoC) find(addr uint32) (*regAccess, uint32, bool) {
	if addr&3 != 0 {
		return nil, 0, false
	}
	if addr >= secureBase && addr < secureBase+(PeriphEnd-PeriphBase) {
		addr -= secureBase - PeriphBase // the secure alias names the same register
	}
	// Microvisor serves these calls for RCC only (Microvisor-HAL-STM32U5's
	// README: "Currently supported peripherals: RCC"); elsewhere the call
	// fails (MV_STATUS_PERIPHERALACCESSFAULT).
	if addr < rccBase || addr >= rccBase+blockSize {
		return nil, 0, false
	}
	i := sort.Search(len(s.ms), func(i int) bool { return uint64(s.ms[i].Base)+uint64(s.ms[i].Size) > uint64(addr) })
	ra, ok := s.ms[i].Device.(*regAccess)
	return ra, addr - s.ms[i].Base, ok
}
