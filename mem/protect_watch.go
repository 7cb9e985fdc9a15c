package mem

// protRange is one write-protected range and what it holds ("" unknown).
type protRange struct {
	span
	what string
}

// LabelledProtector is implemented by Protectors that can name what a
// protected range holds (the Arena does), so that a crash caused by a
// store into it can say so. Use ProtectAs to call it when available.
type LabelledProtector interface {
	Protector
	// ProtectAs is Protect, with what naming the range's contents, e.g.
	// "open channel's send buffer".
	ProtectAs(a Addr, n uint64, what string) error
}

// ProtectAs protects [a, a+n) on p, naming it what if p can carry a name
// (LabelledProtector), with plain Protect otherwise.
func ProtectAs(p Protector, a Addr, n uint64, what string) error {
	if l, ok := p.(LabelledProtector); ok {
		return l.ProtectAs(a, n, what)
	}
	return p.Protect(a, n)
}

// ProtectWatcher is told of a change to an Arena's write-protected ranges:
// [p, p+n), holding what ("" if not named), became protected (on) or
// stopped being (!on).
type ProtectWatcher func(p Addr, n uint64, what string, on bool)

// WatchProtect makes w the Arena's one ProtectWatcher (nil: none): w is
// called at once for every range protected now, then for each later
// Protect, ProtectAs and Unprotect that succeeds, synchronously, on the
// caller's goroutine, while the Arena's lock is held — w must not call the
// Arena.
//
// The CPU emulator uses it to fault the image's own stores into protected
// ranges (Raw's stores bypass the Arena): under Raw's rule every Protect
// and Unprotect runs while the CPU stands still, so w may update the CPU's
// state directly.
func (a *Arena) WatchProtect(w ProtectWatcher) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onProtect = w
	if w == nil {
		return
	}
	for _, q := range a.protected {
		w(q.start, q.size, q.what, true)
	}
}
