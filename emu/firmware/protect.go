package firmware

import (
	"fmt"

	"github.com/mvnet/mvnet/emu"
	"github.com/mvnet/mvnet/mem"
)

// guardProtected makes the image's own stores into what the kernel
// write-protects — a channel's send buffer while the channel is open, the
// server log buffer — fault as on the device ("attempts to write to the
// send buffer will trigger an application crash"): a MemManage data access
// violation at the address (docs/firmware.md, Memory protection). The core
// stores through the Arena's Raw slices, so the Arena's protection reaches
// it as guards. By mem.Arena.Raw's rule the kernel protects and
// unprotects only while the core stands still, so the watcher may change
// the core's state.
func guardProtected(a *mem.Arena, m *emu.Machine) {
	a.WatchProtect(func(p mem.Addr, n uint64, what string, on bool) {
		c := m.CPU()
		var err error
		if on {
			err = c.AddGuard(uint32(p), uint32(n), what)
		} else {
			err = c.RemoveGuard(uint32(p), uint32(n))
		}
		if err != nil { // the Arena refuses what the core would: not expected
			m.Halt(fmt.Errorf("firmware: write protection: %w", err))
		}
	})
}
