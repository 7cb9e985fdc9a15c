package test

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
)

// storingAt is the protect program's note of the address it stores at.
var storingAt = regexp.MustCompile(`protect: storing at (0x[0-9a-f]{8})`)

// The image's own store into memory Microvisor write-protects — an open
// channel's send buffer, the server log buffer — crashes it as on the
// device: a MemManage data access violation at that address, escalated to
// the default HardFault handler, reported with the protected range and
// what it holds; the
// byte next to the send buffer stays writable.
func TestFirmwareStoreIntoProtectedBuffer(t *testing.T) {
	for _, c := range []struct {
		mode   int
		offset uint32 // of the store in the 512-byte buffer
		what   string // the buffer, as the crash report names it
	}{
		{1, 16, "open channel's send buffer"},
		{2, 32, "server log buffer"},
	} {
		t.Run(fmt.Sprint(c.mode), func(t *testing.T) {
			r := runFirmware(t, firmware(t, "protect", fmt.Sprintf("FW_PROTECT=%d", c.mode)))
			m := storingAt.FindStringSubmatch(r.stdout)
			if m == nil {
				t.Fatalf("no store address in the output\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
			addr, err := strconv.ParseUint(m[1], 0, 32)
			if err != nil {
				t.Fatal(err)
			}
			r.want(t, 70, "firmware crash", fmt.Sprintf("store into a protected range %#08x+512 (%s)", uint32(addr)-c.offset, c.what),
				"DACCVIOL", "MMARVALID", "FORCED", "fault address (MMFAR): "+m[1], "store_word", "backtrace")
		})
	}
}

// After mvCloseChannel the send buffer is zeroed and writable again.
func TestFirmwareStoreAfterClose(t *testing.T) {
	r := runFirmware(t, firmware(t, "protect", "FW_PROTECT=3"))
	r.want(t, 0, "exit 0")
	if !regexp.MustCompile(`protect: stored 0xdeadbeef after the close`).MatchString(r.stdout) {
		t.Fatalf("the store after the close is not in the output:\n%s", r.stdout)
	}
}
