package process

import "github.com/mvnet/mvnet/mem"

// guardedHost is the application's memory as the library uses it: mem.Host,
// with accesses inside one page checked against the cached mappings too
// before they are attempted (mem.Host checks longer ones itself, and tries
// one-page ones directly, recovering the fault).
//
// A fault the access does take is caught by the Go runtime's SIGSEGV
// handler; an application that installs its own after start-up would get
// it instead. Checking first keeps NULL-adjacent, unmapped, PROT_NONE and
// read-only pointers from ever faulting, whatever the handler; only memory
// unmapped or re-protected after the mappings were cached still faults
// (mem.Host re-reads them on a miss or a fault).
type guardedHost struct{ *mem.Host }

func newGuardedHost() guardedHost { return guardedHost{mem.NewHost()} }

// pageSize is the unit mem.Host tries without a check.
const pageSize = 4096

func onePage(a mem.Addr, n uint64) bool {
	return n > 0 && uint64(a)+n > uint64(a) && uint64(a)/pageSize == (uint64(a)+n-1)/pageSize
}

// guard checks an access inside one page against the cached mappings
// before it is attempted; mem.Host checks longer ones itself.
func (g guardedHost) guard(a mem.Addr, n uint64, write bool) error {
	if onePage(a, n) {
		return g.Check(a, n, write)
	}
	return nil
}

func (g guardedHost) CopyIn(dst []byte, src mem.Addr) error {
	if err := g.guard(src, uint64(len(dst)), false); err != nil {
		return err
	}
	return g.Host.CopyIn(dst, src)
}

func (g guardedHost) CopyOut(dst mem.Addr, src []byte) error {
	if err := g.guard(dst, uint64(len(src)), true); err != nil {
		return err
	}
	return g.Host.CopyOut(dst, src)
}

func (g guardedHost) Zero(dst mem.Addr, n uint64) error {
	if err := g.guard(dst, n, true); err != nil {
		return err
	}
	return g.Host.Zero(dst, n)
}

// CopyInWord implements mem.WordCopier with guardedHost's check (the
// embedded mem.Host's alone would skip it).
func (g guardedHost) CopyInWord(src mem.Addr, size int) (uint64, error) {
	if err := g.guard(src, uint64(size), false); err != nil {
		return 0, err
	}
	return g.Host.CopyInWord(src, size)
}

// CopyOutWord implements mem.WordCopier with guardedHost's check.
func (g guardedHost) CopyOutWord(dst mem.Addr, v uint64, size int) error {
	if err := g.guard(dst, uint64(size), true); err != nil {
		return err
	}
	return g.Host.CopyOutWord(dst, v, size)
}
