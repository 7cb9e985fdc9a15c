package kernel

import (
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// GetMicroseconds is mvGetMicroseconds: the free-running microsecond count
// since boot. spec/abi.md: PARAMETERFAULT.
func (k *Kernel) GetMicroseconds(out mem.Addr) abi.Status {
	if k.put64(out, k.micros()) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}

// GetWallTime is mvGetWallTime: microseconds since the Unix epoch, known
// only once the cloud has sent the time. spec/abi.md: PARAMETERFAULT,
// TIMENOTSET.
func (k *Kernel) GetWallTime(out mem.Addr) abi.Status {
	if !k.checkW(out, 8) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	set, base, at := k.timeSet, k.wallAtSync, k.monoAtSync
	k.mu.Unlock()
	if !set {
		return abi.StatusTimeNotSet
	}
	now := base + uint64((k.mono()-at)/time.Microsecond)
	if k.put64(out, now) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}

// GetDeviceID is mvGetDeviceId: copies the 34-byte device ID. spec/abi.md:
// PARAMETERFAULT, INVALIDBUFFERSIZE (length must be exactly 34).
func (k *Kernel) GetDeviceID(buf mem.Addr, length uint32) abi.Status {
	if !k.checkW(buf, uint64(length)) {
		return abi.StatusParameterFault
	}
	if length != deviceIDLen {
		return abi.StatusInvalidBufferSize
	}
	if k.mem.CopyOut(buf, []byte(k.id)) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}

// maxWallTimeUS is the latest wall time the kernel accepts from the cloud:
// 10000-01-01T00:00:00Z in µs since the Unix epoch (mvnet's choice; the
// spec gives no range). With it, mvGetWallTime's base plus the µs since
// sync (at most 2^63 ns of monotonic time) can never wrap a u64.
const maxWallTimeUS = 253_402_300_800_000_000

// setWallTimeLocked records the wall time the cloud sent. 0 is no time
// (link/doc.go, version 3: the cloud has none to give, e.g. a clock-unset
// fault): the clock stays as it was. A time past maxWallTimeUS (2^64−1,
// say) is refused and ignored: it could only wrap mvGetWallTime's answer,
// so the clock stays as it was too — TIMENOTSET before any valid time,
// else the last valid time running on.
func (k *Kernel) setWallTimeLocked(us uint64) {
	if us == 0 {
		return
	}
	if us > maxWallTimeUS {
		k.log.Warn("wall time from the cloud out of range: ignored", "us", us)
		return
	}
	k.timeSet = true
	k.wallAtSync = us
	k.monoAtSync = k.mono()
}
