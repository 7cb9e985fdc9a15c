package mqttbridge_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/internal/pki"
)

func TestParseKey(t *testing.T) {
	rsaKey, err := pki.NewKey(pki.RSA)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := pki.NewKey(pki.EC)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, der := range map[string][]byte{
		"RSA PKCS#8":     keyDER(t, rsaKey, "pkcs8"),
		"RSA PKCS#1":     keyDER(t, rsaKey, "pkcs1"),
		"EC PKCS#8":      keyDER(t, ecKey, "pkcs8"),
		"EC SEC1":        keyDER(t, ecKey, "sec1"),
		"Ed25519 PKCS#8": edDER,
	} {
		k, err := mqttbridge.ParseKey(der)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		switch k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		default:
			t.Errorf("%s: %T", name, k)
		}
	}
	for name, der := range map[string][]byte{"empty": nil, "garbage": {0x30, 1, 2}, "certificate": mustCA(t).Cert.Raw} {
		if _, err := mqttbridge.ParseKey(der); err == nil {
			t.Errorf("%s parsed as a key", name)
		}
	}
}

func mustCA(t *testing.T) *pki.CA {
	ca, err := pki.NewCA("x")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestNewOptions(t *testing.T) {
	for name, o := range map[string]mqttbridge.Options{
		"ConnectTimeout": {ConnectTimeout: -1},
		"PingTimeout":    {PingTimeout: -1},
		"MaxPayload":     {MaxPayload: -1},
		"BreakerRate":    {BreakerRate: -1},
		"BreakerBacklog": {BreakerBacklog: -1},
		"BreakerBytes":   {BreakerBytes: -1},
	} {
		if _, err := mqttbridge.New(o); err == nil {
			t.Errorf("negative %s accepted", name)
		}
	}
}

// TestReceiveMaximum: no more QoS 1 publishes in flight than the broker's
// v5 Receive Maximum; the rest wait and go out, in order, as PUBACKs come.
func TestReceiveMaximum(t *testing.T) {
	type seen struct {
		id      uint16
		payload string
	}
	got := make(chan seen, 10)
	ack := make(chan uint16, 10)
	port := scriptedBroker(t, func(conn net.Conn, br *bufio.Reader) {
		readAny(t, br) // CONNECT
		write(t, conn, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: 5,
			Properties: packets.Properties{ReceiveMaximum: 2}})
		go func() {
			for id := range ack {
				var buf bytes.Buffer
				pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, ProtocolVersion: 5, PacketID: id}
				_ = pk.PubackEncode(&buf)
				if _, err := conn.Write(buf.Bytes()); err != nil {
					return
				}
			}
		}()
		for {
			hb, err := br.ReadByte()
			if err != nil {
				return
			}
			pk := packets.Packet{ProtocolVersion: 5}
			_ = pk.FixedHeader.Decode(hb)
			n, _, _ := packets.DecodeLength(br)
			body := make([]byte, n)
			if _, err := io.ReadFull(br, body); err != nil {
				return
			}
			if pk.FixedHeader.Type == packets.Publish {
				_ = pk.PublishDecode(body)
				got <- seen{pk.PacketID, string(pk.Payload)}
			}
		}
	})
	defer close(ack)
	c := newClient(t, mqttbridge.Options{})
	c.mustConnect(mqttbridge.ConnectParams{Version: abi.MQTTProtocolVersionV5, Host: "127.0.0.1", Port: port, CleanStart: true})
	for i, p := range []string{"a", "b", "c", "d"} {
		c.b.Publish(uint32(i), "t", []byte(p), 1, false)
	}
	next := func() seen {
		t.Helper()
		select {
		case s := <-got:
			return s
		case <-time.After(wait):
			t.Fatal("no PUBLISH")
		}
		return seen{}
	}
	quiet := func() {
		t.Helper()
		select {
		case s := <-got:
			t.Fatalf("PUBLISH %q beyond Receive Maximum", s.payload)
		case <-time.After(100 * time.Millisecond):
		}
	}
	a, b := next(), next()
	quiet()
	if a.payload != "a" || b.payload != "b" {
		t.Fatalf("first two: %q %q", a.payload, b.payload)
	}
	if st := c.b.Stats(); st.Inflight != 4 {
		t.Fatalf("Inflight %d, want 4 (2 sent, 2 waiting)", st.Inflight)
	}
	ack <- b.id
	if r := c.result(mqttbridge.KindPublish); r.Corr != 1 || r.State != abi.MQTTRequestStateRequestCompleted {
		t.Fatalf("result %+v, want corr 1 completed", r)
	}
	if s := next(); s.payload != "c" {
		t.Fatalf("third: %q", s.payload)
	}
	quiet()
	ack <- a.id
	if s := next(); s.payload != "d" {
		t.Fatalf("fourth: %q", s.payload)
	}
}

// A SUBACK must carry one reason code per topic; a broker that sends another
// count breaks the protocol and the connection is given up.
func TestSubackCountMismatch(t *testing.T) {
	port := scriptedBroker(t, func(conn net.Conn, br *bufio.Reader) {
		readAny(t, br) // CONNECT
		write(t, conn, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: 5})
		hb, err := br.ReadByte()
		if err != nil {
			return
		}
		pk := packets.Packet{ProtocolVersion: 5}
		_ = pk.FixedHeader.Decode(hb)
		n, _, _ := packets.DecodeLength(br)
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		_ = pk.SubscribeDecode(body)
		suback := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Suback}, ProtocolVersion: 5,
			PacketID: pk.PacketID, ReasonCodes: []byte{0, 0, 0}}
		var buf bytes.Buffer
		if err := suback.SubackEncode(&buf); err != nil {
			t.Error(err)
			return
		}
		if _, err := conn.Write(buf.Bytes()); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, br)
	})
	c := newClient(t, mqttbridge.Options{})
	c.mustConnect(mqttbridge.ConnectParams{Version: abi.MQTTProtocolVersionV5, Host: "127.0.0.1", Port: port, CleanStart: true})
	c.b.Subscribe(7, []mqttbridge.Subscription{{Topic: "a"}})
	if r := c.result(mqttbridge.KindSubscribe); r.State != abi.MQTTRequestStateNotConnected {
		t.Fatalf("subscribe result %+v, want NOTCONNECTED", r)
	}
	if l := c.lostEvent(); l.Err == nil {
		t.Fatalf("lost %+v, want an error naming the mismatch", l)
	}
}
