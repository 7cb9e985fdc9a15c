package kernel_test

import (
	"encoding/binary"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/mem"
)

// The syscall fuzzer (issue 8): random call numbers, random argument words
// and random Arena contents through the syscall table, on a booted kernel
// with a connected network and one open channel of each type. It asserts
// that no call panics and that one input's calls together allocate at
// most maxHeapGrowth bytes.
//
// An input is
//
//	contents_len u16 | contents | { call u8 | { kind u8 | value u32 }×4 }…
//
// contents (at most fuzzScratchLen bytes) is stored at fuzzScratch, the
// first SRAM block. Each record calls kernel.Syscalls()[call % n] with four
// arguments decoded by kind % 5: 0 the value itself (kind&0x80: the value in
// both halves of a 64-bit word, as a wild host pointer or handle would be);
// 1 fuzzScratch + value % fuzzScratchLen; 2 a live handle; 3 value & 0xffff;
// 4 the address of a u32 holding a live handle (for the calls that take
// MvXHandle *).
//
// Run it with: go test ./kernel -run '^$' -fuzz FuzzSyscalls -fuzztime 3m

const (
	fuzzScratch    = sramBase
	fuzzScratchLen = 4096
	fuzzRecordLen  = 1 + 4*5
	fuzzMaxCalls   = 64
)

// fuzzCall builds one record.
func fuzzCall(name string, args ...[2]uint32) []byte {
	idx := -1
	for i, s := range kernel.Syscalls() {
		if s.Name == name {
			idx = i
		}
	}
	if idx < 0 {
		panic("no system call " + name)
	}
	b := []byte{byte(idx)}
	for i := range 4 {
		var a [2]uint32
		if i < len(args) {
			a = args[i]
		}
		b = append(b, byte(a[0]))
		b = binary.LittleEndian.AppendUint32(b, a[1])
	}
	return b
}

// fuzzInput assembles an input from Arena contents and records.
func fuzzInput(contents []byte, calls ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(contents)))
	b = append(b, contents...)
	for _, c := range calls {
		b = append(b, c...)
	}
	return b
}

// Argument kinds.
func raw(v uint32) [2]uint32        { return [2]uint32{0, v} }
func scratch(off uint32) [2]uint32  { return [2]uint32{1, off} }
func liveHandle(i uint32) [2]uint32 { return [2]uint32{2, i} }
func handlePtr(i uint32) [2]uint32  { return [2]uint32{4, i} }

// Live handles in the order the fuzz body lists them.
const (
	fuzzCentre = iota
	fuzzNetwork
	fuzzHTTP
	fuzzMQTT
	fuzzConfig
	fuzzOpaque
)

func fuzzSeeds() [][]byte {
	le := binary.LittleEndian
	// The case: one config key of length 0xFFFFFFF0 behind a bad
	// pointer, then the same length from a good one.
	cfg := le.AppendUint32(nil, 1)
	cfg = le.AppendUint32(cfg, uint32(fuzzScratch+8))
	cfg = le.AppendUint32(cfg, 0) // scope
	cfg = le.AppendUint32(cfg, 1) // store
	cfg = le.AppendUint32(cfg, 0x10)
	cfg = le.AppendUint32(cfg, 0xFFFFFFF0)
	cfg2 := append([]byte(nil), cfg...)
	le.PutUint32(cfg2[16:], uint32(fuzzScratch))
	// An HTTP request with 33 headers and a body far larger than the ring.
	req := make([]byte, 36)
	le.PutUint32(req[0:], uint32(fuzzScratch+64))
	le.PutUint32(req[4:], 3)
	le.PutUint32(req[8:], uint32(fuzzScratch+64))
	le.PutUint32(req[12:], 20)
	le.PutUint32(req[16:], 33)
	le.PutUint32(req[20:], uint32(fuzzScratch+128))
	le.PutUint32(req[24:], uint32(fuzzScratch))
	le.PutUint32(req[28:], 0xFFFFFFF0)
	le.PutUint32(req[32:], 5000)
	req = append(req, make([]byte, 128-36)...)
	req = append(req, make([]byte, 33*8)...)
	copy(req[64:], "GEThttps://example.com/")
	huge := func(name string) []byte {
		return fuzzCall(name, liveHandle(fuzzOpaque), scratch(0), raw(0xFFFFFFF0), scratch(512))
	}
	return [][]byte{
		fuzzInput(cfg, fuzzCall("mvSendConfigFetchRequest", liveHandle(fuzzConfig), scratch(0))),
		fuzzInput(cfg2, fuzzCall("mvSendConfigFetchRequest", liveHandle(fuzzConfig), scratch(0))),
		fuzzInput(req, fuzzCall("mvSendHttpRequest", liveHandle(fuzzHTTP), scratch(0))),
		fuzzInput(nil, huge("mvWriteChannel"), huge("mvWriteChannelStream"),
			fuzzCall("mvServerLog", scratch(0), raw(0xFFFF)),
			fuzzCall("mvReadHttpResponseBody", liveHandle(fuzzHTTP), raw(0xFFFFFFF0), scratch(0), raw(0xFFFFFFF0)),
			fuzzCall("mvGetDeviceId", scratch(0), raw(0xFFFFFFF0))),
		fuzzInput(make([]byte, 64), fuzzCall("mvCloseChannel", handlePtr(fuzzMQTT)), fuzzCall("mvMqttRequestConnect", liveHandle(fuzzMQTT), scratch(0)),
			fuzzCall("mvReleaseNetwork", handlePtr(fuzzNetwork)), fuzzCall("mvCloseNotifications", handlePtr(fuzzCentre))),
	}
}

func FuzzSyscalls(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	calls := kernel.Syscalls()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		n := min(int(binary.LittleEndian.Uint16(data)), fuzzScratchLen, len(data)-2)
		contents, rest := data[2:2+n], data[2+n:]

		h := newHarness(t, func(fc *fakeCloud, _ *kernel.Options) { fc.autoCredit = true })
		if p := h.alloc(fuzzScratchLen, 512); p != fuzzScratch {
			t.Fatalf("scratch at %#x, want %#x", uint64(p), uint64(fuzzScratch))
		}
		h.store(fuzzScratch, contents)
		c, nw := h.ready()
		handles := []uint32{c.handle, nw}
		for i, typ := range []abi.ChannelType{abi.ChannelTypeHTTP, abi.ChannelTypeMQTT, abi.ChannelTypeConfigFetch, abi.ChannelTypeOpaqueBytes} {
			handles = append(handles, h.open(c, nw, typ, 1024, 512, uint32(i)).handle)
		}
		slots := h.alloc(uint64(4*len(handles)), 4)

		var args []kernel.Args
		var rows []int
		for len(rest) >= fuzzRecordLen && len(rows) < fuzzMaxCalls {
			rows = append(rows, int(rest[0])%len(calls))
			var a kernel.Args
			for i := range a {
				kind, v := rest[1+5*i], binary.LittleEndian.Uint32(rest[2+5*i:])
				switch kind % 5 {
				case 0:
					a[i] = uint64(v)
					if kind&0x80 != 0 {
						a[i] |= uint64(v) << 32
					}
				case 1:
					a[i] = uint64(fuzzScratch) + uint64(v%fuzzScratchLen)
				case 2:
					a[i] = uint64(handles[v%uint32(len(handles))])
				case 3:
					a[i] = uint64(v & 0xffff)
				case 4:
					a[i] = uint64(slots) + 4*uint64(v%uint32(len(handles)))
				}
			}
			args = append(args, a)
			rest = rest[fuzzRecordLen:]
		}
		for i, hv := range handles {
			h.put32(slots+mem.Addr(4*i), hv)
		}
		grew := allocated(func() {
			for i, row := range rows {
				if calls[row].Handler != nil {
					calls[row].Handler(h.k, &args[i])
				}
			}
		})
		if grew > maxHeapGrowth {
			t.Fatalf("%d calls allocated %d MiB", len(rows), grew>>20)
		}
	})
}
