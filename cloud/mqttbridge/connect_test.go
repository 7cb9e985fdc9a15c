package mqttbridge_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/pki"
)

func TestConnectPlain(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			c := newClient(t, mqttbridge.Options{})
			c.mustConnect(params(br, v.v, "plain-"+v.name))
			// A second connect on the same bridge (channel) is refused.
			r := c.connect(params(br, v.v, "again"))
			if r.State != abi.MQTTRequestStateAlreadyConnected {
				t.Fatalf("second connect: %v, want ALREADYCONNECTED", r.State)
			}
			c.b.Disconnect()
			if r := c.result(mqttbridge.KindDisconnect); r.State != abi.MQTTRequestStateRequestCompleted {
				t.Fatalf("disconnect: %v (%v)", r.State, r.Err)
			}
			// Nothing to disconnect any more.
			c.b.Disconnect()
			if r := c.result(mqttbridge.KindDisconnect); r.State != abi.MQTTRequestStateNotConnected {
				t.Fatalf("second disconnect: %v", r.State)
			}
		})
	}
}

func TestConnectEmptyClientID(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	// Seed 004: a zero-byte client ID needs clean_start, or the broker
	// refuses (3.1.1 return code 2, identifier rejected); a v5 broker
	// assigns one (Mosquitto does even without clean start).
	for _, tc := range []struct {
		v     abi.MQTTProtocolVersion
		clean bool
		want  uint32
	}{
		{abi.MQTTProtocolVersionV311, true, 0},
		{abi.MQTTProtocolVersionV311, false, 2},
		{abi.MQTTProtocolVersionV5, true, 0},
		{abi.MQTTProtocolVersionV5, false, 0},
	} {
		c := newClient(t, mqttbridge.Options{})
		p := params(br, tc.v, "")
		p.CleanStart = tc.clean
		if r := c.connect(p); r.State != abi.MQTTRequestStateRequestCompleted || r.Reason != tc.want {
			t.Errorf("%v clean %v: %v reason %#x, want reason %#x", tc.v, tc.clean, r.State, r.Reason, tc.want)
		}
	}
}

func TestRequestsBeforeConnect(t *testing.T) {
	c := newClient(t, mqttbridge.Options{})
	c.b.Subscribe(1, []mqttbridge.Subscription{{Topic: "a"}})
	c.b.Unsubscribe(2, []string{"a"})
	c.b.Publish(3, "a", nil, 1, false)
	c.b.Disconnect()
	for _, k := range []mqttbridge.Kind{mqttbridge.KindSubscribe, mqttbridge.KindUnsubscribe, mqttbridge.KindPublish, mqttbridge.KindDisconnect} {
		if r := c.result(k); r.State != abi.MQTTRequestStateNotConnected {
			t.Errorf("%v before connect: %v, want NOTCONNECTED", k, r.State)
		}
	}
	if err := c.b.Ack(1); !errors.Is(err, mqttbridge.ErrNotConnected) {
		t.Errorf("Ack before connect: %v", err)
	}
}

func TestConnectInvalidParameters(t *testing.T) {
	base := mqttbridge.ConnectParams{Host: "127.0.0.1", Port: 1, ClientID: "x", CleanStart: true}
	cases := map[string]func(p *mqttbridge.ConnectParams){
		"version":       func(p *mqttbridge.ConnectParams) { p.Version = 7 },
		"no host":       func(p *mqttbridge.ConnectParams) { p.Host = "" },
		"port 0":        func(p *mqttbridge.ConnectParams) { p.Port = 0 },
		"client ID NUL": func(p *mqttbridge.ConnectParams) { p.ClientID = "a\x00b" },
		"auth method":   func(p *mqttbridge.ConnectParams) { p.Auth = 9 },
		"will QoS 2":    func(p *mqttbridge.ConnectParams) { p.Will = &mqttbridge.Will{Topic: "w", Payload: []byte("x"), QoS: 2} },
		"will wildcard": func(p *mqttbridge.ConnectParams) { p.Will = &mqttbridge.Will{Topic: "w/#", Payload: []byte("x")} },
		"bad CA":        func(p *mqttbridge.ConnectParams) { p.TLS = &mqttbridge.Credentials{CACerts: [][]byte{{1, 2, 3}}} },
		"9 CAs": func(p *mqttbridge.ConnectParams) {
			ca, _ := pki.NewCA("x")
			p.TLS = &mqttbridge.Credentials{}
			for range 9 {
				p.TLS.CACerts = append(p.TLS.CACerts, ca.Cert.Raw)
			}
		},
		"cert without key": func(p *mqttbridge.ConnectParams) {
			ca, _ := pki.NewCA("x")
			p.TLS = &mqttbridge.Credentials{ClientCerts: [][]byte{ca.Cert.Raw}}
		},
		"key of another cert": func(p *mqttbridge.ConnectParams) {
			ca, _ := pki.NewCA("x")
			creds := clientCreds(t, ca, ca.Cert, pki.EC, "pkcs8", time.Time{})
			creds.Key = clientCreds(t, ca, ca.Cert, pki.EC, "pkcs8", time.Time{}).Key
			p.TLS = creds
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			dialed := false
			c := newClient(t, mqttbridge.Options{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dialed = true
				return nil, errors.New("must not dial")
			}})
			p := base
			mutate(&p)
			r := c.connect(p)
			if r.State != abi.MQTTRequestStateInvalidParameters || dialed {
				t.Fatalf("got %v (dialed %v, err %v), want INVALIDPARAMETERS without dialling", r.State, dialed, r.Err)
			}
		})
	}
}

// TestConnectNXDomain dials through the cloud's outbound dialer, as the
// cloud does: it answers an RFC 6761 "invalid" name at once, so no DNS
// query leaves the machine.
func TestConnectNXDomain(t *testing.T) {
	e, err := httpexec.New(httpexec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	c := newClient(t, mqttbridge.Options{Dial: e.DialContext})
	r := c.connect(mqttbridge.ConnectParams{Host: "broker.mvnet.invalid", Port: 1883, ClientID: "x", CleanStart: true})
	if r.State != abi.MQTTRequestStateNXDomain {
		t.Fatalf("got %v (%v), want NXDOMAIN", r.State, r.Err)
	}
}

func TestConnectSocketErrors(t *testing.T) {
	t.Run("refused by policy", func(t *testing.T) {
		c := newClient(t, mqttbridge.Options{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("target address refused by outbound policy")}
		}})
		if r := c.connect(mqttbridge.ConnectParams{Host: "127.0.0.1", Port: 1883, CleanStart: true}); r.State != abi.MQTTRequestStateSocketError {
			t.Fatalf("got %v, want SOCKETERROR", r.State)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		c := newClient(t, mqttbridge.Options{})
		if r := c.connect(mqttbridge.ConnectParams{Host: "127.0.0.1", Port: uint16(port), CleanStart: true}); r.State != abi.MQTTRequestStateSocketError {
			t.Fatalf("got %v, want SOCKETERROR", r.State)
		}
	})
	t.Run("no CONNACK", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		release := make(chan struct{})
		defer close(release)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				defer c.Close()
				<-release // never answer while the test runs
			}
		}()
		c := newClient(t, mqttbridge.Options{ConnectTimeout: 200 * time.Millisecond})
		p := mqttbridge.ConnectParams{Host: "127.0.0.1", Port: uint16(ln.Addr().(*net.TCPAddr).Port), CleanStart: true}
		if r := c.connect(p); r.State != abi.MQTTRequestStateSocketError {
			t.Fatalf("got %v (%v), want SOCKETERROR", r.State, r.Err)
		}
	})
}

func TestConnectUsernamePassword(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{Users: map[string]string{"alice": "s3cret"}})
	cases := []struct {
		name       string
		user, pass string
		auth       bool
		want       map[abi.MQTTProtocolVersion]uint32
	}{
		// Mosquitto 2.0 answers 3.1.1 return code 5 "not authorized" and v5
		// reason code 0x87 "not authorized" (not 0x86 "bad user name or
		// password") to all of these.
		{"good", "alice", "s3cret", true, map[abi.MQTTProtocolVersion]uint32{0: 0, 1: 0}},
		{"bad password", "alice", "wrong", true, map[abi.MQTTProtocolVersion]uint32{0: 5, 1: 0x87}},
		{"unknown user", "bob", "s3cret", true, map[abi.MQTTProtocolVersion]uint32{0: 5, 1: 0x87}},
		{"anonymous", "", "", false, map[abi.MQTTProtocolVersion]uint32{0: 5, 1: 0x87}},
	}
	for _, v := range versions {
		for _, tc := range cases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				c := newClient(t, mqttbridge.Options{})
				p := params(br, v.v, "auth")
				if tc.auth {
					p.Auth, p.Username, p.Password = abi.MQTTAuthenticationMethodUsernamePassword, tc.user, []byte(tc.pass)
				}
				r := c.connect(p)
				if r.State != abi.MQTTRequestStateRequestCompleted || r.Reason != tc.want[v.v] {
					t.Fatalf("got %v reason %#x (%v), want REQUESTCOMPLETED reason %#x", r.State, r.Reason, r.Err, tc.want[v.v])
				}
				if r.Reason != 0 {
					// Refused: not connected.
					c.b.Publish(1, "t", nil, 0, false)
					if r := c.result(mqttbridge.KindPublish); r.State != abi.MQTTRequestStateNotConnected {
						t.Fatalf("publish after a refused connect: %v", r.State)
					}
				}
			})
		}
	}
}

func TestConnectTLS(t *testing.T) {
	s := newTLSSetup(t, time.Time{}, time.Time{})
	server := s.broker(t, false)
	mutual := s.broker(t, true)
	for _, v := range versions {
		t.Run(v.name+"/server only", func(t *testing.T) {
			c := newClient(t, mqttbridge.Options{})
			p := params(server, v.v, "tls")
			p.TLS = &mqttbridge.Credentials{CACerts: [][]byte{s.ca.Cert.Raw}}
			c.mustConnect(p)
			c.subscribe(mqttbridge.Subscription{Topic: "tls/t", QoS: 1})
			c.mustPublish("tls/t", "over TLS", 1, false)
			if m := c.msg(); string(m.Payload) != "over TLS" {
				t.Fatalf("got %q", m.Payload)
			}
		})
		t.Run(v.name+"/host name", func(t *testing.T) {
			c := newClient(t, mqttbridge.Options{})
			p := params(server, v.v, "tls-name")
			p.Host = "localhost" // the certificate names it; verified against it
			p.TLS = &mqttbridge.Credentials{CACerts: [][]byte{s.ca.Cert.Raw}}
			c.mustConnect(p)
		})
		for _, key := range []struct {
			name   string
			kt     pki.KeyType
			format string
		}{
			{"RSA PKCS#8", pki.RSA, "pkcs8"},
			{"RSA PKCS#1", pki.RSA, "pkcs1"},
			{"EC PKCS#8", pki.EC, "pkcs8"},
			{"EC SEC1", pki.EC, "sec1"},
		} {
			t.Run(v.name+"/client cert "+key.name, func(t *testing.T) {
				c := newClient(t, mqttbridge.Options{})
				p := params(mutual, v.v, "mtls")
				p.TLS = clientCreds(t, s.ca, s.ca.Cert, key.kt, key.format, time.Time{})
				c.mustConnect(p)
				c.mustPublish("mtls/t", "x", 1, false)
			})
		}
		t.Run(v.name+"/no client cert", func(t *testing.T) {
			c := newClient(t, mqttbridge.Options{})
			p := params(mutual, v.v, "mtls-none")
			p.TLS = &mqttbridge.Credentials{CACerts: [][]byte{s.ca.Cert.Raw}}
			if r := c.connect(p); r.State != abi.MQTTRequestStateSocketError {
				t.Fatalf("got %v (%v), want SOCKETERROR", r.State, r.Err)
			}
		})
	}
}

func TestConnectTLSFailures(t *testing.T) {
	good := newTLSSetup(t, time.Time{}, time.Time{})
	other, err := pki.NewCA("some other CA")
	if err != nil {
		t.Fatal(err)
	}
	expired := newTLSSetup(t, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	expiredBroker := expired.broker(t, false)
	server := good.broker(t, false)
	mutual := good.broker(t, true)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			cases := []struct {
				name string
				br   *mosquitto.Broker
				tls  *mqttbridge.Credentials
				want abi.MQTTRequestState
			}{
				{"unknown CA", server, &mqttbridge.Credentials{CACerts: [][]byte{other.Cert.Raw}}, abi.MQTTRequestStateUnknownCA},
				{"system roots", server, &mqttbridge.Credentials{}, abi.MQTTRequestStateUnknownCA},
				{"expired server certificate", expiredBroker, &mqttbridge.Credentials{CACerts: [][]byte{expired.ca.Cert.Raw}}, abi.MQTTRequestStateCertificateExpired},
				{"client cert from unknown CA", mutual, clientCreds(t, other, good.ca.Cert, pki.EC, "pkcs8", time.Time{}), abi.MQTTRequestStateUnknownCA},
				{"expired client cert", mutual, clientCreds(t, good.ca, good.ca.Cert, pki.EC, "pkcs8", time.Now().Add(-time.Hour)), abi.MQTTRequestStateCertificateExpired},
				{"TLS to a plain broker", mosquitto.Start(t, mosquitto.Options{}), &mqttbridge.Credentials{CACerts: [][]byte{good.ca.Cert.Raw}}, abi.MQTTRequestStateSocketError},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					c := newClient(t, mqttbridge.Options{})
					p := params(tc.br, v.v, "tls-fail")
					p.TLS = tc.tls
					if r := c.connect(p); r.State != tc.want {
						t.Fatalf("got %v (%v), want %v", r.State, r.Err, tc.want)
					}
				})
			}
		})
	}
}
