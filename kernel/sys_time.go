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

// setWallTimeLocked records the wall time the cloud sent.
func (k *Kernel) setWallTimeLocked(us uint64) {
	k.timeSet = true
	k.wallAtSync = us
	k.monoAtSync = k.mono()
}
