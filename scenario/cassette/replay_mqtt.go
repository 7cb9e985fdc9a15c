package cassette

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"net"
	"slices"
	"sync"

	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
)

// WrapConnect is for cloud.MQTTOptions.WrapConnect: each broker stream is
// answered from the cassette by a broker of the replayer's own (never base,
// except for devices other than Options.Device). The recorded session is
// chosen when the stream's CONNECT arrives: the first unused one to the
// same address whose CONNECT matches. A connect that failed in the
// recording fails again, with the recorded error.
func (p *Replayer) WrapConnect(base mqttbridge.Connector) mqttbridge.Connector {
	return func(ctx context.Context, addr string, conf *tls.Config) (net.Conn, error) {
		id := devctx.ID(ctx)
		if !p.o.mine(id) {
			return base(ctx, addr, conf)
		}
		p.mu.Lock()
		first := -1
		var addrs []string
		for i, s := range p.c.MQTT {
			addrs = append(addrs, "connect to "+s.Addr)
			if first < 0 && !p.mqttUsed[i] && s.Addr == addr {
				first = i
			}
		}
		if first < 0 {
			err := p.mismatchLocked(Mismatch{Kind: "mqtt", Device: id, Request: "connect to " + addr,
				Reason: "no (more) sessions to this address in the cassette", Closest: closest("connect to "+addr, addrs)})
			p.mu.Unlock()
			return nil, err
		}
		if e := p.c.MQTT[first].Error; e != nil && len(p.c.MQTT[first].Packets) == 0 {
			p.mqttUsed[first] = true
			p.mu.Unlock()
			return nil, replayConnectError(e, addr)
		}
		p.mu.Unlock()
		client, server := net.Pipe()
		b := &fakeBroker{p: p, id: id, addr: addr, conn: server, ids: map[uint16]uint16{},
			out: make(chan []byte, 256), done: make(chan struct{})}
		go b.readLoop()
		go b.writeLoop()
		return client, nil
	}
}

// fakeBroker plays one recorded session back on its end of a pipe.
type fakeBroker struct {
	p    *Replayer
	id   string
	addr string
	conn net.Conn
	out  chan []byte // packets to send; nil: close the stream
	done chan struct{}
	once sync.Once

	// Used by readLoop only.
	s       *MQTTSession
	matched []bool // the Replayer's mqttMatched for the session; guarded by its mu
	sent    []bool
	ids     map[uint16]uint16 // recorded packet ID → the live one
	version byte
}

var closeMarker = []byte(nil)

func (b *fakeBroker) stop() {
	b.once.Do(func() {
		close(b.done)
		_ = b.conn.Close()
	})
}

func (b *fakeBroker) writeLoop() {
	for {
		select {
		case pk := <-b.out:
			if pk == nil {
				b.stop()
				return
			}
			if _, err := b.conn.Write(pk); err != nil {
				b.stop()
				return
			}
		case <-b.done:
			return
		}
	}
}

func (b *fakeBroker) send(pk []byte) bool {
	select {
	case b.out <- pk:
		return true
	case <-b.done:
		return false
	}
}

// readLoop reads client packets, matches each against the session and
// queues the broker packets recorded after it.
func (b *fakeBroker) readLoop() {
	var buf []byte
	chunk := make([]byte, 16<<10)
	for {
		n, err := b.conn.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for {
			size, perr := packetLen(buf)
			if perr != nil {
				b.fail(Mismatch{Request: "a malformed packet", Reason: perr.Error()})
				return
			}
			if size == 0 {
				break
			}
			var pk MQTTPacket
			pk, b.version, perr = decodePacket(buf[:size], b.version)
			if perr != nil {
				b.fail(Mismatch{Request: "a malformed packet", Reason: perr.Error()})
				return
			}
			buf = buf[size:]
			if !b.handle(&pk) {
				return
			}
		}
		if err != nil {
			b.stop()
			return
		}
	}
}

// handle answers one client packet; false ends the session.
func (b *fakeBroker) handle(pk *MQTTPacket) bool {
	if pk.Type == "PINGREQ" {
		return b.send([]byte{0xD0, 0x00}) // PINGRESP (MQTT §3.13)
	}
	p := b.p
	p.mu.Lock()
	var queue [][]byte
	if b.s == nil {
		if !b.bindLocked(pk) {
			p.mu.Unlock()
			return false
		}
		queue = b.collectLocked(-1) // what the broker sent before anything (after -1)
	}
	j := -1
	var cands []string
	for i := range b.s.Packets {
		r := &b.s.Packets[i]
		if r.Dir != "client" {
			continue
		}
		cands = append(cands, r.key())
		if j < 0 && !b.matched[i] && r.key() == pk.key() {
			j = i
		}
	}
	if j < 0 {
		b.failLocked(Mismatch{Request: pk.key(), Reason: "not in the recorded session", Closest: closest(pk.key(), cands)})
		p.mu.Unlock()
		return false
	}
	b.matched[j] = true
	if r := &b.s.Packets[j]; r.clientChosenID() {
		b.ids[r.PacketID] = pk.PacketID
	}
	queue = append(queue, b.collectLocked(j)...)
	p.mu.Unlock()
	for _, q := range queue {
		if !b.send(q) {
			return false
		}
	}
	return true
}

// collectLocked returns the broker packets recorded after client packet
// j not sent yet (nil for a CLOSE: end the stream there).
func (b *fakeBroker) collectLocked(j int) [][]byte {
	var queue [][]byte
	for i := range b.s.Packets {
		r := &b.s.Packets[i]
		if r.Dir != "broker" || b.sent[i] || *r.After != j {
			continue
		}
		b.sent[i] = true
		if r.Type == "CLOSE" {
			return append(queue, closeMarker)
		}
		raw, _ := base64.StdEncoding.DecodeString(r.Raw) // checked by Read
		queue = append(queue, b.remap(r, raw))
	}
	return queue
}

// bindLocked picks the recorded session for the stream's first packet.
func (b *fakeBroker) bindLocked(pk *MQTTPacket) bool {
	p := b.p
	var cands []string
	for i := range p.c.MQTT {
		s := &p.c.MQTT[i]
		k := slices.IndexFunc(s.Packets, func(r MQTTPacket) bool { return r.Dir == "client" })
		if s.Addr != b.addr || k < 0 {
			continue
		}
		cands = append(cands, s.Packets[k].key())
		if !p.mqttUsed[i] && s.Packets[k].key() == pk.key() {
			p.mqttUsed[i] = true
			b.s = s
			b.matched = p.mqttMatched[i]
			b.sent = make([]bool, len(s.Packets))
			return true
		}
	}
	b.failLocked(Mismatch{Request: pk.key() + " to " + b.addr, Reason: "no unused recorded session starts so",
		Closest: closest(pk.key(), cands)})
	return false
}

// remap returns a broker packet answering a client-chosen packet ID with
// the live ID: SUBACK, UNSUBACK, PUBACK, PUBREC and PUBCOMP carry it first
// in their variable header (MQTT §2.2.1).
func (b *fakeBroker) remap(r *MQTTPacket, raw []byte) []byte {
	switch r.Type {
	case "SUBACK", "UNSUBACK", "PUBACK", "PUBREC", "PUBCOMP":
	default:
		return raw
	}
	live, ok := b.ids[r.PacketID]
	if !ok {
		return raw
	}
	out := append([]byte(nil), raw...)
	hdr := 2
	for out[hdr-1]&0x80 != 0 {
		hdr++
	}
	if len(out) >= hdr+2 {
		out[hdr], out[hdr+1] = byte(live>>8), byte(live)
	}
	return out
}

func (b *fakeBroker) fail(m Mismatch) {
	b.p.mu.Lock()
	b.failLocked(m)
	b.p.mu.Unlock()
}

// failLocked reports a mismatch and closes the stream, which the device
// sees as a failed connect or a lost broker connection.
func (b *fakeBroker) failLocked(m Mismatch) {
	m.Kind, m.Device = "mqtt", b.id
	_ = b.p.mismatchLocked(m)
	go b.stop()
}
