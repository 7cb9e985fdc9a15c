package device

import (
	"fmt"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// ServerLoggingInit allocates a 512-byte-aligned log buffer of size bytes
// (a multiple of 512) and calls mvServerLoggingInit. The buffer belongs to
// the kernel from then on; it is freed only if the call fails.
func (d *Device) ServerLoggingInit(size uint32) (mem.Addr, abi.Status, error) {
	buf, err := d.Arena.Alloc(uint64(max(size, 1)), 512)
	if err != nil {
		return 0, 0, err
	}
	st := d.call("mvServerLoggingInit", func() abi.Status { return d.Kernel.ServerLoggingInit(buf, size) }, nil,
		func() string { return fmt.Sprintf("buffer=%s length=%d", buf, size) })
	if st != abi.StatusOkay {
		_ = d.Arena.Free(buf)
	}
	return buf, st, nil
}

// ServerLog places msg in application memory and calls mvServerLog. A
// message over 65535 bytes is truncated to that length (the call's length
// is a u16); the kernel refuses anything over 512 anyway.
func (d *Device) ServerLog(msg string) (abi.Status, error) {
	if len(msg) > 0xffff {
		msg = msg[:0xffff]
	}
	return d.with(func(s *scratch) abi.Status {
		p := s.str(msg)
		return d.call("mvServerLog", func() abi.Status { return d.Kernel.ServerLog(p.Data, uint16(p.Length)) }, nil,
			func() string { return fmt.Sprintf("length=%d", len(msg)) })
	})
}
