package gdb

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
)

// FuzzHandle feeds arbitrary packets to a session over a fake target: no
// packet may panic the stub or hang it.
func FuzzHandle(f *testing.F) {
	for _, seed := range []string{
		"?", "g", "G00", "p0f", "P0f=00000008", "m8000000,10", "M20000000,1:aa", "X20000000,1:a",
		"c", "s", "C05;8000000", "S05", "vCont;s:1;c", "vCont;c:p1.-1", "vCont?", "Z0,8000110,2", "z2,20000000,4",
		"Z4,20000000,0", "qSupported:swbreak+", "qXfer:features:read:target.xml:0,ffff", "qCRC:8000000,100",
		"qRcmd,7265736574", "qAttached", "H", "T1", "D", "k", "vKill;1", "QStartNoAckMode", "m,", "M:", "X", "Z", "p", "P=",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		go io.Copy(io.Discard, b)
		s := &session{
			ctx:     t.Context(),
			t:       newFakeTarget(),
			w:       newWire(a, func(string, ...any) {}),
			cfg:     config{logf: func(string, ...any) {}},
			breaks:  map[uint32]uint8{},
			watches: map[watchpoint]struct{}{},
			ending:  func() {},
		}
		s.w.txNoAck = true
		s.last = Stop{Kind: StopInterrupted}
		s.handle(p)
	})
}

// FuzzFrame: the frame reader never panics, and reports good exactly
// when the two digits after the payload are its checksum.
func FuzzFrame(f *testing.F) {
	f.Add([]byte("qC#b4"))
	f.Add([]byte("X0,1:}]#00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		payload, good, err := readFrame(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		end := bytes.IndexByte(b, '#')
		want, ok := parseHexByte(b[end+1], b[end+2])
		if wantGood := ok && end <= 2*maxPacket+64 && want == checksum(b[:end]); good != wantGood {
			t.Fatalf("frame %q: good = %v, want %v", b, good, wantGood)
		}
		if good && !bytes.Equal(payload, b[:end]) {
			t.Fatalf("frame %q: payload %q", b, payload)
		}
	})
}
