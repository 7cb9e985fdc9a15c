package abi_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

const base = mem.Addr(0x2000_0000)

var abis = []*abi.ABI{abi.Device, abi.X64}

func sampleOpen() abi.OpenChannelParams {
	return abi.OpenChannelParams{
		Version: 1, NotificationHandle: 0xdead_beef, NotificationTag: 0x1234_5678,
		NetworkHandle: 0xffff_fffe, ReceiveBuffer: base + 0x400, ReceiveBufferLen: 1024,
		SendBuffer: base + 0x800, SendBufferLen: 512, ChannelType: abi.ChannelTypeHTTP,
		Endpoint: abi.SizedString{Data: base + 0x10, Length: 7},
	}
}

func sampleRequest() abi.HTTPRequest {
	return abi.HTTPRequest{
		Method:     abi.SizedString{Data: base + 0x100, Length: 3},
		URL:        abi.SizedString{Data: base + 0x110, Length: 42},
		NumHeaders: 2, Headers: base + 0x200,
		Body:      abi.SizedString{Data: base + 0x300, Length: 0x1_0000},
		TimeoutMS: 10000,
	}
}

// TestRoundTrip writes each structure and reads it back, in both ABIs.
func TestRoundTrip(t *testing.T) {
	for _, a := range abis {
		m := newFlatMem(base, 4096)
		p := base + 0x40
		check := func(what string, err error, ok bool) {
			t.Helper()
			if err != nil || !ok {
				t.Errorf("%s %s: err %v, equal %v", a.Name(), what, err, ok)
			}
		}

		ns := abi.NotificationSetup{IRQ: 51, Buffer: base + 0x80, BufferSize: 64}
		err := a.WriteNotificationSetup(m, p, ns)
		gotNS, err2 := a.ReadNotificationSetup(m, p)
		check("NotificationSetup", errors.Join(err, err2), gotNS == ns)

		rn := abi.RequestNetworkParams{Version: 1, NotificationHandle: 0x8000_0001, NotificationTag: 77}
		err = a.WriteRequestNetworkParams(m, p, rn)
		gotRN, err2 := a.ReadRequestNetworkParams(m, p)
		check("RequestNetworkParams", errors.Join(err, err2), gotRN == rn)

		oc := sampleOpen()
		err = a.WriteOpenChannelParams(m, p, oc)
		gotOC, err2 := a.ReadOpenChannelParams(m, p)
		check("OpenChannelParams", errors.Join(err, err2), gotOC == oc)

		rq := sampleRequest()
		err = a.WriteHTTPRequest(m, p, rq)
		gotRQ, err2 := a.ReadHTTPRequest(m, p)
		check("HTTPRequest", errors.Join(err, err2), gotRQ == rq)

		rd := abi.HTTPResponseData{Result: abi.HTTPResultResponseTooLarge, StatusCode: 200, NumHeaders: 5, BodyLength: 1 << 20}
		err = a.WriteHTTPResponseData(m, p, rd)
		gotRD, err2 := a.ReadHTTPResponseData(m, p)
		check("HTTPResponseData", errors.Join(err, err2), gotRD == rd)

		err = a.WriteHandle(m, p, 0xcafe_f00d)
		h, err2 := a.ReadHandle(m, p)
		check("handle", errors.Join(err, err2), h == 0xcafe_f00d)
	}
}

// TestDecodeSpecBytes decodes structures laid out by hand from the spec's
// offsets, so a codec cannot agree with itself and still be wrong.
func TestDecodeSpecBytes(t *testing.T) {
	le := binary.LittleEndian
	for _, a := range abis {
		m := newFlatMem(base, 256)
		b := m.at(base)
		oc := sampleOpen()
		put := func(off int, v uint64, wide bool) {
			if wide && a.PointerSize() == 8 {
				le.PutUint64(b[off:], v)
			} else {
				le.PutUint32(b[off:], uint32(v))
			}
		}
		x := a.PointerSize() == 8
		pick := func(dev, x64 int) int {
			if x {
				return x64
			}
			return dev
		}
		put(0, 1, false)
		put(pick(4, 8), uint64(oc.NotificationHandle), true)
		put(pick(8, 16), uint64(oc.NotificationTag), false)
		put(pick(12, 24), uint64(oc.NetworkHandle), true)
		put(pick(16, 32), uint64(oc.ReceiveBuffer), true)
		put(pick(20, 40), uint64(oc.ReceiveBufferLen), false)
		put(pick(24, 48), uint64(oc.SendBuffer), true)
		put(pick(28, 56), uint64(oc.SendBufferLen), false)
		put(pick(32, 60), uint64(oc.ChannelType), false)
		put(pick(36, 64), uint64(oc.Endpoint.Data), true)
		put(pick(40, 72), uint64(oc.Endpoint.Length), false)
		got, err := a.ReadOpenChannelParams(m, base)
		if err != nil || got != oc {
			t.Errorf("%s: decoded %+v, %v; want %+v", a.Name(), got, err, oc)
		}

		// MvHttpHeader: length first, then the pointer.
		clear(b)
		put(0, 5, false)
		put(pick(4, 8), uint64(base+0x99), true)
		hs, err := a.ReadHTTPHeaders(m, base, 1, nil)
		if err != nil || len(hs) != 1 || hs[0] != (abi.HTTPHeader{Length: 5, Data: base + 0x99}) {
			t.Errorf("%s: header %+v, %v", a.Name(), hs, err)
		}
	}
}

// TestWideHandles: on x86-64 a handle slot holding more than 32 bits
// decodes as 0, alone or inside a structure.
func TestWideHandles(t *testing.T) {
	m := newFlatMem(base, 256)
	le := binary.LittleEndian
	le.PutUint64(m.at(base), 0x1_0000_0007)
	if h, err := abi.X64.ReadHandle(m, base); err != nil || h != 0 {
		t.Errorf("ReadHandle of a wide value = %#x, %v; want 0", h, err)
	}
	if h, _ := abi.Device.ReadHandle(m, base); h != 7 {
		t.Errorf("device ReadHandle = %#x, want 7", h)
	}
	if err := abi.X64.WriteOpenChannelParams(m, base, sampleOpen()); err != nil {
		t.Fatal(err)
	}
	le.PutUint64(m.at(base+8), 0xffff_ffff_0000_0001)
	got, _ := abi.X64.ReadOpenChannelParams(m, base)
	if got.NotificationHandle != 0 || got.NetworkHandle != sampleOpen().NetworkHandle {
		t.Errorf("wide notification_handle decoded as %#x", got.NotificationHandle)
	}
	// WriteHandle zero-extends into all 8 bytes.
	le.PutUint64(m.at(base), ^uint64(0))
	if err := abi.X64.WriteHandle(m, base, 9); err != nil || le.Uint64(m.at(base)) != 9 {
		t.Errorf("WriteHandle left %#x, %v", le.Uint64(m.at(base)), err)
	}
}

func TestWritePointer(t *testing.T) {
	m := newFlatMem(base, 64)
	if err := abi.X64.WritePointer(m, base, 0x1_2345_6789); err != nil ||
		binary.LittleEndian.Uint64(m.at(base)) != 0x1_2345_6789 {
		t.Errorf("x86-64 WritePointer: %v", err)
	}
	clear(m.b)
	if err := abi.Device.WritePointer(m, base, 0x1_0000_0000); !errors.Is(err, abi.ErrAddressRange) {
		t.Errorf("device WritePointer of a 33-bit address: %v", err)
	}
	if binary.LittleEndian.Uint64(m.at(base)) != 0 {
		t.Error("a refused WritePointer wrote")
	}
	oc := sampleOpen()
	oc.SendBuffer = 1 << 40
	if err := abi.Device.WriteOpenChannelParams(m, base, oc); !errors.Is(err, abi.ErrAddressRange) {
		t.Errorf("device WriteOpenChannelParams with a wide pointer: %v", err)
	}
	if err := abi.Device.WritePointer(m, base, base+4); err != nil || binary.LittleEndian.Uint32(m.at(base)) != uint32(base+4) {
		t.Errorf("device WritePointer: %v", err)
	}
}

// TestFaultAtEnd: a structure straddling the end of mapped memory faults,
// and the codec returns mem's error unchanged.
func TestFaultAtEnd(t *testing.T) {
	for _, a := range abis {
		size := a.Struct("MvOpenChannelParams").Size()
		m := newFlatMem(base, 256)
		p := base + 256 - mem.Addr(size) + 1 // the last byte is one past the end
		_, err := a.ReadOpenChannelParams(m, p)
		var f *mem.Fault
		if !errors.As(err, &f) || err != m.last || f.Addr != p || f.Len != uint64(size) {
			t.Errorf("%s: straddling read: %v (last fault %v)", a.Name(), err, m.last)
		}
		if _, err := a.ReadOpenChannelParams(m, p-1); err != nil {
			t.Errorf("%s: read ending at the last byte: %v", a.Name(), err)
		}
		reads := map[string]func() error{
			"setup":   func() error { _, err := a.ReadNotificationSetup(m, base+255); return err },
			"network": func() error { _, err := a.ReadRequestNetworkParams(m, base+255); return err },
			"request": func() error { _, err := a.ReadHTTPRequest(m, base+255); return err },
			"resp":    func() error { _, err := a.ReadHTTPResponseData(m, base+255); return err },
			"handle":  func() error { _, err := a.ReadHandle(m, base+255); return err },
			"wresp":   func() error { return a.WriteHTTPResponseData(m, base+255, abi.HTTPResponseData{}) },
			"wopen":   func() error { return a.WriteOpenChannelParams(m, 8, sampleOpen()) },
		}
		for name, f := range reads {
			if err := f(); err == nil || err != m.last {
				t.Errorf("%s %s: err %v, want mem's fault %v", a.Name(), name, err, m.last)
			}
		}
	}
}

func TestHTTPHeaders(t *testing.T) {
	for _, a := range abis {
		m := newFlatMem(base, 4096)
		var hs []abi.HTTPHeader
		for i := range 70 { // more than one scratch buffer's worth
			hs = append(hs, abi.HTTPHeader{Length: uint32(i + 1), Data: base + mem.Addr(i*16)})
		}
		if err := a.WriteHTTPHeaders(m, base+0x100, hs); err != nil {
			t.Fatal(err)
		}
		prefix := []abi.HTTPHeader{{Length: 99}}
		got, err := a.ReadHTTPHeaders(m, base+0x100, uint32(len(hs)), prefix)
		if err != nil || len(got) != len(hs)+1 || got[0] != prefix[0] {
			t.Fatalf("%s: read %d headers, %v", a.Name(), len(got), err)
		}
		for i, h := range hs {
			if got[i+1] != h {
				t.Errorf("%s: header %d = %+v, want %+v", a.Name(), i, got[i+1], h)
			}
		}
		if got, err := a.ReadHTTPHeaders(m, 0, 0, prefix); err != nil || len(got) != 1 {
			t.Errorf("%s: zero headers at a bad address: %v %v", a.Name(), got, err)
		}
		// An array running off the end: a fault, and dst comes back unextended.
		n := uint32(4096/a.Struct("MvHttpHeader").Size()) + 1
		got, err = a.ReadHTTPHeaders(m, base, n, prefix)
		if err == nil || err != m.last || len(got) != 1 {
			t.Errorf("%s: headers past the end: %d, %v", a.Name(), len(got), err)
		}
		// An array wrapping the top of the address space.
		if _, err := a.ReadHTTPHeaders(m, ^mem.Addr(0)-4, 2, nil); err == nil {
			t.Errorf("%s: wrapping array read without a fault", a.Name())
		}
	}
}

func TestNotificationCodec(t *testing.T) {
	for _, a := range abis {
		l := a.Struct("MvNotification")
		if l.Size() != abi.NotificationSize || l.Offset("microseconds") != 0 ||
			l.Offset("event_type") != 8 || l.Offset("tag") != 12 {
			t.Errorf("%s: MvNotification layout differs from the codec's", a.Name())
		}
	}
	n := abi.Notification{Microseconds: 0x0102_0304_0506_0708, EventType: abi.EventTypeChannelNotConnected, Tag: 0xabcd}
	var b [abi.NotificationSize]byte
	abi.EncodeNotification(&b, n)
	want := [16]byte{8, 7, 6, 5, 4, 3, 2, 1, 4, 0, 0, 0, 0xcd, 0xab, 0, 0}
	if b != want {
		t.Errorf("encoded % x, want % x", b, want)
	}
	if got := abi.DecodeNotification(b[:]); got != n {
		t.Errorf("decoded %+v, want %+v", got, n)
	}
}

func TestScalars(t *testing.T) {
	m := newFlatMem(base, 16)
	if err := abi.WriteUint64(m, base, 1<<40+3); err != nil {
		t.Fatal(err)
	}
	if v, err := abi.ReadUint64(m, base); err != nil || v != 1<<40+3 {
		t.Errorf("ReadUint64 = %#x, %v", v, err)
	}
	if err := abi.WriteUint32(m, base+8, 0xfeed); err != nil {
		t.Fatal(err)
	}
	if v, err := abi.ReadUint32(m, base+8); err != nil || v != 0xfeed {
		t.Errorf("ReadUint32 = %#x, %v", v, err)
	}
	if err := abi.WriteUint32(m, base+14, 1); err == nil || err != m.last {
		t.Errorf("straddling WriteUint32: %v", err)
	}
}

// TestReadsDoNotAllocate holds the codecs to their no-allocation promise.
func TestReadsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	m := newFlatMem(base, 4096)
	for _, a := range abis {
		if err := a.WriteOpenChannelParams(m, base, sampleOpen()); err != nil {
			t.Fatal(err)
		}
		dst := make([]abi.HTTPHeader, 0, 32)
		allocs := testing.AllocsPerRun(1000, func() {
			_, _ = a.ReadOpenChannelParams(m, base)
			_, _ = a.ReadHTTPRequest(m, base)
			_, _ = a.ReadNotificationSetup(m, base)
			_, _ = a.ReadRequestNetworkParams(m, base)
			_, _ = a.ReadHandle(m, base)
			_, _ = a.ReadHTTPHeaders(m, base, 32, dst[:0])
			_ = a.WriteHTTPResponseData(m, base+0x800, abi.HTTPResponseData{StatusCode: 200})
			_ = a.WriteHandle(m, base+0x900, 5)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per run, want 0", a.Name(), allocs)
		}
	}
}

func BenchmarkReadOpenChannelParams(b *testing.B) {
	for _, a := range abis {
		b.Run(a.Name(), func(b *testing.B) {
			m := newFlatMem(base, 4096)
			if err := a.WriteOpenChannelParams(m, base, sampleOpen()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.ReadOpenChannelParams(m, base); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
