package cassette

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/mochi-mqtt/server/v2/packets"
)

// MQTTSession is one broker stream the cloud opened for a device's MQTT
// channel: where it went and the packets each way, in order.
type MQTTSession struct {
	Device string       `json:"device,omitempty"`
	Addr   string       `json:"addr"` // host:port as the device named it
	TLS    bool         `json:"tls"`  // the stream was TLS (the packets are the plaintext inside)
	Error  *ErrorRecord `json:"error,omitempty"`
	// Packets are both directions in the order seen. Keep-alive packets
	// (PINGREQ, PINGRESP) are not recorded: replay answers PINGREQ itself.
	Packets []MQTTPacket `json:"packets"`
}

// MQTTPacket is one packet of a session, decoded enough to read and match.
type MQTTPacket struct {
	// Dir is "client" (the cloud, for the device, to the broker) or
	// "broker".
	Dir string `json:"dir"`
	// Type is the packet type (CONNECT, CONNACK, PUBLISH, PUBACK,
	// SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT …) or CLOSE:
	// the broker ended the stream.
	Type string `json:"type"`
	// After (broker packets) is the index in Packets of the client packet
	// this one followed, -1 if none: replay sends it once that client
	// packet has been matched.
	After *int `json:"after,omitempty"`

	Version  byte   `json:"version,omitempty"` // CONNECT: 4 (3.1.1) or 5
	ClientID string `json:"client_id,omitempty"`
	Username string `json:"username,omitempty"` // Redacted unless kept
	Password string `json:"password,omitempty"` // Redacted unless kept
	Clean    bool   `json:"clean,omitempty"`

	PacketID  uint16       `json:"packet_id,omitempty"`
	Topic     string       `json:"topic,omitempty"`
	QoS       byte         `json:"qos,omitempty"`
	Retain    bool         `json:"retain,omitempty"`
	Filters   []MQTTFilter `json:"filters,omitempty"`
	Payload   string       `json:"payload,omitempty"`
	Payload64 string       `json:"payload_base64,omitempty"`
	// Codes are SUBACK/UNSUBACK reason codes; Reason is a CONNACK's,
	// PUBACK's or DISCONNECT's.
	Codes          []int `json:"codes,omitempty"`
	Reason         int   `json:"reason,omitempty"`
	SessionPresent bool  `json:"session_present,omitempty"`
	// Raw (broker packets) is the whole packet as the broker sent it:
	// what replay sends (with the packet ID remapped).
	Raw string `json:"raw,omitempty"`
}

// MQTTFilter is one filter of a SUBSCRIBE or UNSUBSCRIBE.
type MQTTFilter struct {
	Filter string `json:"filter"`
	QoS    byte   `json:"qos,omitempty"`
}

func (s *MQTTSession) check() error {
	if s.Addr == "" {
		return errors.New("no addr")
	}
	last := -1
	for i, p := range s.Packets {
		switch p.Dir {
		case "client":
			last = i
		case "broker":
			if p.After == nil || *p.After < -1 || *p.After > last {
				return fmt.Errorf("packets[%d]: after must name an earlier client packet (or -1)", i)
			}
			if p.Type == "CLOSE" {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(p.Raw)
			if err != nil {
				return fmt.Errorf("packets[%d].raw: %v", i, err)
			}
			if n, err := packetLen(raw); err != nil || n != len(raw) || n == 0 {
				return fmt.Errorf("packets[%d].raw: not one whole MQTT packet", i)
			}
		default:
			return fmt.Errorf("packets[%d].dir: %q is neither client nor broker", i, p.Dir)
		}
		if _, err := base64.StdEncoding.DecodeString(p.Payload64); err != nil {
			return fmt.Errorf("packets[%d].payload_base64: %v", i, err)
		}
	}
	return nil
}

// packetLen returns the length of the whole MQTT packet at the start of b,
// or 0 if b does not hold all of it yet.
func packetLen(b []byte) (int, error) {
	n, mult := 0, 1
	for i := 1; i < 5; i++ { // MQTT §2.2.3: at most 4 length bytes
		if i >= len(b) {
			return 0, nil
		}
		n += int(b[i]&0x7f) * mult
		if b[i]&0x80 == 0 {
			if len(b) < i+1+n {
				return 0, nil
			}
			return i + 1 + n, nil
		}
		mult *= 128
	}
	return 0, errors.New("malformed remaining length")
}

// typeNames are the packet types by number (MQTT §2.1.2).
var typeNames = [...]string{"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
	"PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"}

// decodePacket decodes one whole packet; version is the session's protocol
// version (0 until CONNECT, which carries it).
func decodePacket(raw []byte, version byte) (MQTTPacket, byte, error) {
	var pk packets.Packet
	pk.ProtocolVersion = version
	if err := pk.FixedHeader.Decode(raw[0]); err != nil {
		return MQTTPacket{}, version, err
	}
	hdr := 2
	for raw[hdr-1]&0x80 != 0 {
		hdr++
	}
	body := raw[hdr:]
	pk.FixedHeader.Remaining = len(body)
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectDecode(body)
		version = pk.ProtocolVersion
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Pubrec:
		err = pk.PubrecDecode(body)
	case packets.Pubrel:
		err = pk.PubrelDecode(body)
	case packets.Pubcomp:
		err = pk.PubcompDecode(body)
	case packets.Subscribe:
		err = pk.SubscribeDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Unsubscribe:
		err = pk.UnsubscribeDecode(body)
	case packets.Unsuback:
		err = pk.UnsubackDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	}
	if err != nil {
		return MQTTPacket{}, version, fmt.Errorf("malformed %s: %w", typeNames[pk.FixedHeader.Type], err)
	}
	p := MQTTPacket{Type: typeNames[pk.FixedHeader.Type], PacketID: pk.PacketID, Reason: int(pk.ReasonCode)}
	switch pk.FixedHeader.Type {
	case packets.Connect:
		c := &pk.Connect
		p.Version, p.ClientID, p.Username, p.Clean = pk.ProtocolVersion, c.ClientIdentifier, string(c.Username), c.Clean
		if c.PasswordFlag {
			p.Password = string(c.Password)
		}
	case packets.Connack:
		p.SessionPresent = pk.SessionPresent
	case packets.Publish:
		p.Topic, p.QoS, p.Retain = pk.TopicName, pk.FixedHeader.Qos, pk.FixedHeader.Retain
		if utf8.Valid(pk.Payload) {
			p.Payload = string(pk.Payload)
		} else {
			p.Payload64 = base64.StdEncoding.EncodeToString(pk.Payload)
		}
	case packets.Subscribe, packets.Unsubscribe:
		for _, f := range pk.Filters {
			p.Filters = append(p.Filters, MQTTFilter{Filter: f.Filter, QoS: f.Qos})
		}
	case packets.Suback, packets.Unsuback:
		for _, c := range pk.ReasonCodes {
			p.Codes = append(p.Codes, int(c))
		}
	}
	return p, version, nil
}

// key is what replay matches a client packet by: its type and topic,
// filters and payload (PUBLISH), client ID and version (CONNECT), the
// packet ID of a PUBACK (the broker chose it); never its own packet ID.
func (p *MQTTPacket) key() string {
	var b strings.Builder
	b.WriteString(p.Type)
	switch p.Type {
	case "CONNECT":
		fmt.Fprintf(&b, " client %q version %d", p.ClientID, p.Version)
	case "PUBLISH":
		fmt.Fprintf(&b, " %q qos %d", p.Topic, p.QoS)
		if p.Retain {
			b.WriteString(" retain")
		}
		if p.Payload64 != "" {
			fmt.Fprintf(&b, " payload base64 %s", p.Payload64)
		} else {
			fmt.Fprintf(&b, " payload %q", p.Payload)
		}
	case "SUBSCRIBE", "UNSUBSCRIBE":
		for _, f := range p.Filters {
			fmt.Fprintf(&b, " %q", f.Filter)
			if p.Type == "SUBSCRIBE" {
				fmt.Fprintf(&b, " qos %d", f.QoS)
			}
		}
	case "PUBACK", "PUBREC", "PUBREL", "PUBCOMP":
		fmt.Fprintf(&b, " id %d", p.PacketID)
	}
	return b.String()
}

// clientChosenID reports whether a packet's ID is chosen by the client
// (the device's side), so replay maps recorded IDs to live ones.
func (p *MQTTPacket) clientChosenID() bool {
	switch p.Type {
	case "SUBSCRIBE", "UNSUBSCRIBE":
		return true
	case "PUBLISH":
		return p.QoS > 0
	}
	return false
}

// tlsState is a TLS stream's, or a layer over one's, state.
type tlsState interface{ ConnectionState() tls.ConnectionState }

// recTLSConn is a recConn over a TLS stream: it keeps the TLS state
// visible to the bridge.
type recTLSConn struct{ *recConn }

// ConnectionState is the TLS stream's state.
func (c *recTLSConn) ConnectionState() tls.ConnectionState {
	return c.Conn.(tlsState).ConnectionState()
}

// recConn records the packets on a broker stream.
type recConn struct {
	net.Conn
	r   *Recorder
	idx int // the session in r.c.MQTT

	// Guarded by r.mu.
	version    byte
	out, in    []byte // partial packets, client → broker and broker → client
	lastClient int    // index of the last client packet
	closed     bool   // Close was called: later read errors are ours
	// disconnected: the client sent DISCONNECT, after which the broker
	// closes the stream (MQTT §3.14.4): not a CLOSE of the broker's own.
	disconnected bool
	broken       bool // a stream that does not parse: recording stopped
}

// Write records the bytes before sending them: the broker's answer can be
// read (and recorded) before a Write returns, and must be recorded after
// the packet it answers. Bytes a failed Write did not send are recorded
// all the same; the stream is broken then.
func (c *recConn) Write(b []byte) (int, error) {
	c.feed(true, b)
	n, err := c.Conn.Write(b)
	c.ended(err)
	return n, err
}

func (c *recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.feed(false, b[:n])
	c.ended(err)
	return n, err
}

// ended records the broker's end of the stream (CLOSE) when a read or a
// write fails other than by the bridge's own doing (a deadline it set to
// stop, or its Close), once. A write that fails (the broker reset the
// stream, e.g. refusing a client certificate after the TLS 1.3 handshake)
// is such an end too: replay closes the stream at the same point.
func (c *recConn) ended(err error) {
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		return
	}
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	if !c.closed && !c.broken && !c.disconnected {
		c.closed = true
		c.appendLocked(MQTTPacket{Dir: "broker", Type: "CLOSE"})
	}
}

func (c *recConn) Close() error {
	c.r.mu.Lock()
	c.closed = true
	c.r.mu.Unlock()
	return c.Conn.Close()
}

// feed adds bytes seen on the stream and records every packet completed.
func (c *recConn) feed(client bool, b []byte) {
	if len(b) == 0 {
		return
	}
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	buf := &c.in
	if client {
		buf = &c.out
	}
	*buf = append(*buf, b...)
	for !c.broken {
		n, err := packetLen(*buf)
		if n == 0 && err == nil {
			return
		}
		var p MQTTPacket
		if err == nil {
			raw := (*buf)[:n]
			p, c.version, err = decodePacket(raw, c.version)
			if !client {
				p.Raw = base64.StdEncoding.EncodeToString(raw)
			}
		}
		if err != nil {
			c.broken = true
			s := &c.r.c.MQTT[c.idx]
			s.Error = &ErrorRecord{Kind: "other", Message: "cassette: recording stopped: " + err.Error()}
			return
		}
		*buf = bytes.Clone((*buf)[n:])
		if p.Type == "PINGREQ" || p.Type == "PINGRESP" {
			continue
		}
		if client {
			p.Dir = "client"
			c.disconnected = c.disconnected || p.Type == "DISCONNECT"
			if p.Type == "CONNECT" && !c.r.o.KeepSecrets {
				// Brokers take tokens as passwords, and some as
				// usernames: both are redacted, and scrubbed from the
				// rest of the cassette (scrub.go).
				for _, v := range []*string{&p.Password, &p.Username} {
					if *v != "" {
						c.r.noteSecretLocked(*v)
						*v = Redacted
					}
				}
			}
		} else {
			p.Dir = "broker"
		}
		c.appendLocked(p)
	}
}

func (c *recConn) appendLocked(p MQTTPacket) {
	s := &c.r.c.MQTT[c.idx]
	if p.Dir == "broker" {
		after := c.lastClient
		p.After = &after
	} else {
		c.lastClient = len(s.Packets)
	}
	s.Packets = append(s.Packets, p)
}
