package periph

// SetNSS drives the SPI peripheral's hardware NSS output: active selects
// the device wired to NSS (if any) until NSS goes inactive, so that the
// bytes of a transfer clocked one at a time with Transfer(false, …) reach
// it as one selection, as a CPU's SPI registers drive it (emu/stm32).
func (b *SPIBus) SetNSS(active bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.devs[NSS]
	if !ok {
		return
	}
	switch {
	case active && !b.selected[NSS]:
		b.selected[NSS] = true
		d.Select()
	case !active && b.selected[NSS]:
		delete(b.selected, NSS)
		d.Deselect()
	}
}
