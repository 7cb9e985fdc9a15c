package mqttbridge

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/abi"
)

const (
	// maxControlPacket bounds packets other than PUBLISH from the broker
	// (SUBACKs and the like are a few bytes).
	maxControlPacket = 1 << 20
	// publishPrefix is how much of an oversize PUBLISH is read to decode
	// its topic, packet ID and properties; the rest is skipped.
	publishPrefix = 128 << 10
	// writeTimeout bounds one write to the broker; disconnectTimeout the
	// write of DISCONNECT.
	writeTimeout      = 30 * time.Second
	disconnectTimeout = 5 * time.Second
)

// inPacket is a packet read from the broker.
type inPacket struct {
	pk       packets.Packet
	size     int    // PUBLISH: the payload's length as sent
	oversize bool   // PUBLISH: the payload exceeded maxPayload and was skipped
	release  func() // the stream's PacketHolder release, or nil
}

// A PacketHolder is a broker stream (a Connector's conn) that holds
// something while a packet it returned is in the bridge's hands: the cloud's
// fault injector, which delays a PUBLISH on the device's clock, holds that
// clock until the message has reached the device's session, so the device
// gets it at its instant (cloud/faults WrapConnect). After reading each
// packet the bridge takes the packet's release (nil: nothing held) and
// calls it once the packet is handed on: a message after OnMessage was
// first offered it (taken or refused: a refused one waits for the
// device's credit, which the stream must not wait for) or once it is
// dropped; any other packet once handled. The release must not call into
// the bridge. Holding reports whether the stream is holding the broker's
// next packet back on a device's virtual clock: that wait's wall time says
// nothing about the broker, so the bridge does not count it against
// PingTimeout (a PINGRESP behind the held packet). A layer that wraps a
// PacketHolder keeps the methods.
type PacketHolder interface {
	TakeRelease() func()
	Holding() bool
}

// readPacket reads one packet. Each packet gets its own buffer: decoded
// strings and payloads point into it.
func readPacket(br *bufio.Reader, version byte, maxPayload int) (*inPacket, error) {
	hb, err := br.ReadByte()
	if err != nil {
		return nil, err // io.EOF between packets: an orderly close
	}
	in := &inPacket{}
	pk := &in.pk
	pk.ProtocolVersion = version
	if err := pk.FixedHeader.Decode(hb); err != nil {
		return nil, fmt.Errorf("mqttbridge: malformed fixed header %#x: %w", hb, err)
	}
	n, _, err := packets.DecodeLength(br)
	if err != nil {
		return nil, midPacket(err)
	}
	pk.FixedHeader.Remaining = n
	typ := pk.FixedHeader.Type
	if typ != packets.Publish && n > maxControlPacket {
		return nil, fmt.Errorf("mqttbridge: %s of %d bytes", packetName(typ), n)
	}
	if typ == packets.Publish && n > maxPayload+publishPrefix {
		buf := make([]byte, publishPrefix)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, midPacket(err)
		}
		if err := pk.PublishDecode(buf); err != nil {
			return nil, fmt.Errorf("mqttbridge: malformed PUBLISH: %w", err)
		}
		in.size = n - (len(buf) - len(pk.Payload))
		if _, err := io.CopyN(io.Discard, br, int64(n-len(buf))); err != nil {
			return nil, midPacket(err)
		}
		pk.Payload, in.oversize = nil, true
		return in, nil
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, midPacket(err)
	}
	if err := decode(pk, buf); err != nil {
		return nil, fmt.Errorf("mqttbridge: malformed %s: %w", packetName(typ), err)
	}
	if typ == packets.Publish {
		in.size = len(pk.Payload)
		if in.size > maxPayload {
			pk.Payload, in.oversize = nil, true
		}
	}
	return in, nil
}

// midPacket turns io.EOF inside a packet into io.ErrUnexpectedEOF: the
// connection broke, it did not close in order.
func midPacket(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// decode decodes the body of a packet a broker may send.
func decode(pk *packets.Packet, buf []byte) error {
	switch pk.FixedHeader.Type {
	case packets.Connack:
		return pk.ConnackDecode(buf)
	case packets.Publish:
		return pk.PublishDecode(buf)
	case packets.Puback:
		return pk.PubackDecode(buf)
	case packets.Pubrec:
		return pk.PubrecDecode(buf)
	case packets.Pubrel:
		return pk.PubrelDecode(buf)
	case packets.Pubcomp:
		return pk.PubcompDecode(buf)
	case packets.Suback:
		return pk.SubackDecode(buf)
	case packets.Unsuback:
		return pk.UnsubackDecode(buf)
	case packets.Pingresp:
		return pk.PingrespDecode(buf)
	case packets.Disconnect:
		return pk.DisconnectDecode(buf)
	case packets.Auth:
		return pk.AuthDecode(buf)
	}
	return errors.New("not a packet a broker sends")
}

// encode encodes a packet the client sends.
func encode(pk *packets.Packet) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Puback:
		err = pk.PubackEncode(&buf)
	case packets.Pubrec:
		err = pk.PubrecEncode(&buf)
	case packets.Pubcomp:
		err = pk.PubcompEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	case packets.Unsubscribe:
		err = pk.UnsubscribeEncode(&buf)
	case packets.Pingreq:
		err = pk.PingreqEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	default:
		err = fmt.Errorf("mqttbridge: cannot encode %s", packetName(pk.FixedHeader.Type))
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func packetName(typ byte) string {
	if name, ok := packets.PacketNames[typ]; ok {
		return name
	}
	return fmt.Sprintf("packet type %d", typ)
}

// readLoop reads the broker's packets until the connection ends.
func (b *Bridge) readLoop(conn net.Conn, br *bufio.Reader, version byte) {
	defer b.wg.Done()
	holder, _ := conn.(PacketHolder)
	for {
		in, err := readPacket(br, version, b.o.MaxPayload)
		var release func()
		if holder != nil {
			release = holder.TakeRelease()
		}
		b.mu.Lock()
		if b.st == stEnded {
			b.mu.Unlock()
			releaseIf(release)
			return
		}
		if err != nil {
			if b.st != stDisconnecting {
				b.lostLocked(err)
			}
			// Disconnecting, the broker may close as soon as it has read
			// DISCONNECT: the writer reports how the write went.
			b.mu.Unlock()
			releaseIf(release)
			return
		}
		b.lastRead = time.Now()
		in.release = release
		b.handleLocked(in)
		release = in.release // nil if a message waiting for OnMessage took it
		b.mu.Unlock()
		releaseIf(release)
	}
}

// releaseIf calls release if it is not nil.
func releaseIf(release func()) {
	if release != nil {
		release()
	}
}

// lostLocked ends the connection after err from reading or writing, or a
// broker's DISCONNECT.
func (b *Bridge) lostLocked(err error) {
	if b.st == stDisconnecting {
		// Writing DISCONNECT failed. The device asked to disconnect
		// anyway: no news of a loss, the disconnect is NOTCONNECTED.
		b.endLocked(abi.MQTTRequestStateNotConnected, nil)
		return
	}
	lost := &Lost{State: abi.MQTTRequestStateNotConnected, Err: err}
	if errors.Is(err, io.EOF) {
		lost.ServerClosed = true
		lost.Err = errors.New("mqttbridge: the broker closed the connection")
	}
	b.log.Debug("MQTT connection lost", "server_closed", lost.ServerClosed, "err", lost.Err)
	b.endLocked(abi.MQTTRequestStateNotConnected, lost)
}

// handleLocked acts on a packet from the broker.
func (b *Bridge) handleLocked(in *inPacket) {
	pk := &in.pk
	switch typ := pk.FixedHeader.Type; typ {
	case packets.Publish:
		b.incomingLocked(in)
	case packets.Puback, packets.Suback, packets.Unsuback:
		b.ackedLocked(pk)
	case packets.Pubrel:
		b.queueControlLocked(packets.Pubcomp, pk.PacketID) // QoS 2, second half
	case packets.Pingresp:
		b.pingSent = time.Time{}
	case packets.Disconnect:
		if b.st == stDisconnecting {
			return // the writer finishes
		}
		err := fmt.Errorf("mqttbridge: the broker sent DISCONNECT, reason %#x", pk.ReasonCode)
		if pk.Properties.ReasonString != "" {
			err = fmt.Errorf("%w (%q)", err, pk.Properties.ReasonString)
		}
		b.log.Debug("MQTT broker disconnected", "err", err)
		b.endLocked(abi.MQTTRequestStateNotConnected, &Lost{
			State: abi.MQTTRequestStateNotConnected, ServerClosed: true, Reason: pk.ReasonCode, Err: err,
		})
	case packets.Pubrec, packets.Pubcomp:
		// Answers to QoS 2 publishes, which the bridge never sends.
		b.log.Debug("ignoring unexpected MQTT packet", "type", packetName(typ), "packet_id", pk.PacketID)
	default: // CONNACK again, AUTH
		b.lostLocked(fmt.Errorf("mqttbridge: the broker sent an unexpected %s", packetName(typ)))
	}
}

// ackedLocked completes the request a PUBACK, SUBACK or UNSUBACK answers.
func (b *Bridge) ackedLocked(pk *packets.Packet) {
	r := b.pending[pk.PacketID]
	if r == nil || ackType(r.kind) != pk.FixedHeader.Type {
		b.log.Debug("ignoring MQTT ack for no request", "type", packetName(pk.FixedHeader.Type), "packet_id", pk.PacketID)
		return
	}
	if (r.kind == KindSubscribe || (r.kind == KindUnsubscribe && b.version == 5)) && len(pk.ReasonCodes) != r.n {
		// MQTT: one reason code per topic of the request, in order.
		b.lostLocked(fmt.Errorf("mqttbridge: the broker's %s carries %d reason codes for %d topics",
			packetName(pk.FixedHeader.Type), len(pk.ReasonCodes), r.n))
		return
	}
	delete(b.pending, pk.PacketID)
	res := Result{Kind: r.kind, Corr: r.corr, State: abi.MQTTRequestStateRequestCompleted}
	switch r.kind {
	case KindPublish:
		res.Reason = uint32(pk.ReasonCode) // 0 in 3.1.1
		b.inflight--
		defer b.sendQueuedLocked()
	case KindSubscribe:
		res.Reasons = bytes.Clone(pk.ReasonCodes)
		b.grantedLocked(r.filters, pk.ReasonCodes)
	case KindUnsubscribe:
		res.Reasons = bytes.Clone(pk.ReasonCodes)
		b.unsubscribedLocked(r.filters, pk.ReasonCodes)
		if b.version != 5 {
			res.Reasons = make([]uint8, r.n) // 3.1.1 UNSUBACK carries no codes: success
		}
	}
	b.resultLocked(res)
}

// ackType is the packet that answers a request of kind k.
func ackType(k Kind) byte {
	switch k {
	case KindPublish:
		return packets.Puback
	case KindSubscribe:
		return packets.Suback
	case KindUnsubscribe:
		return packets.Unsuback
	}
	return 0
}

// newMsgIDLocked numbers a message that arrives for the device (a
// broker's or an injected one): never 0.
func (b *Bridge) newMsgIDLocked() uint32 {
	b.nextMsgID++
	if b.nextMsgID == 0 {
		b.nextMsgID = 1
	}
	return b.nextMsgID
}

// incomingLocked takes an incoming PUBLISH.
func (b *Bridge) incomingLocked(in *inPacket) {
	if b.st != stConnected {
		return // disconnecting: nobody will take it
	}
	pk := &in.pk
	if pk.TopicName == "" {
		// Only a topic alias could leave it empty, and the bridge allows
		// none (Topic Alias Maximum 0).
		b.lostLocked(errors.New("mqttbridge: the broker sent a PUBLISH without a topic name"))
		return
	}
	m := &inMsg{
		pid: pk.PacketID,
		qos: pk.FixedHeader.Qos,
		msg: Message{
			ID:       b.newMsgIDLocked(),
			Topic:    pk.TopicName,
			QoS:      pk.FixedHeader.Qos,
			Retain:   pk.FixedHeader.Retain,
			Payload:  pk.Payload,
			Size:     in.size,
			Oversize: in.oversize,
		},
		release: in.release,
	}
	in.release = nil
	if m.qos > 0 {
		b.unacked = append(b.unacked, m)
		b.byID[m.msg.ID] = m
		if in.oversize {
			m.acked = true // the device never sees its ID
			b.flushAcksLocked()
		}
	}
	b.arrivedLocked(m)
}

// writeLoop writes queued packets, in order, until the connection ends.
func (b *Bridge) writeLoop(conn net.Conn) {
	defer b.wg.Done()
	bw := bufio.NewWriterSize(conn, 32<<10)
	for {
		b.mu.Lock()
		for len(b.out) == 0 && b.st != stEnded {
			b.wcond.Wait()
		}
		if b.st == stEnded {
			b.mu.Unlock()
			return
		}
		batch := b.out
		b.out, b.writing = nil, batch
		b.mu.Unlock()

		err := writeBatch(conn, bw, batch)

		b.mu.Lock()
		if b.st == stEnded {
			// Ended meanwhile; the batch's requests have been answered.
			b.mu.Unlock()
			return
		}
		if err != nil {
			b.lostLocked(fmt.Errorf("mqttbridge: writing to the broker: %w", err))
			b.mu.Unlock()
			return
		}
		b.writing = nil
		b.lastWrite = time.Now()
		done := false
		for _, p := range batch {
			if p.req == nil {
				continue
			}
			b.resultLocked(Result{Kind: p.req.kind, Corr: p.req.corr, State: abi.MQTTRequestStateRequestCompleted})
			done = done || p.req.kind == KindDisconnect
		}
		if done {
			b.finishLocked()
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
	}
}

func writeBatch(conn net.Conn, bw *bufio.Writer, batch []outPacket) error {
	timeout := writeTimeout
	for _, p := range batch {
		if p.req != nil && p.req.kind == KindDisconnect {
			timeout = disconnectTimeout
		}
	}
	if err := conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	for _, p := range batch {
		if _, err := bw.Write(p.b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// keepaliveLoop sends PINGREQ when the connection has been quiet for the
// keepalive interval, and ends it when PINGRESP does not come in time.
func (b *Bridge) keepaliveLoop() {
	defer b.wg.Done()
	b.mu.Lock()
	keep, wait := b.keepalive, b.pingWait
	holder, _ := b.conn.(PacketHolder)
	b.mu.Unlock()
	tick := min(max(min(keep, wait)/4, 10*time.Millisecond), 5*time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		var now time.Time
		select {
		case <-b.endCh:
			return
		case now = <-t.C:
		}
		b.mu.Lock()
		switch {
		case b.st != stConnected:
		case !b.pingSent.IsZero() && holder != nil && holder.Holding():
			b.pingSent = now // the wait starts again once the packet is let go
		case !b.pingSent.IsZero():
			if now.Sub(b.pingSent) > wait {
				b.lostLocked(fmt.Errorf("mqttbridge: no PINGRESP within %v: the broker is unreachable", wait))
			}
		case now.Sub(b.lastWrite) >= keep || now.Sub(b.lastRead) >= keep:
			b.queueControlLocked(packets.Pingreq, 0)
			b.pingSent = now
		}
		b.mu.Unlock()
	}
}
