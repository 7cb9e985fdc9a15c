package test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/pki"
	"github.com/mvnet/mvnet/internal/testenv"
)

// MQTT connects end to end: device API → kernel → link → cloud → Mosquitto.

// TestMQTTSession: a whole session in both protocol versions, over plain
// TCP and over TLS (the broker reached by name through the cloud's Resolve
// override): connect, subscribe, publish at QoS 0 and 1 to the subscribed
// topic and receive both, acknowledge, unsubscribe, disconnect; requests
// after the disconnect are NOTCONNECTED.
func TestMQTTSession(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	plain := mosquitto.Start(t, mosquitto.Options{})
	s := newMQTTTLS(t, time.Time{}, time.Time{})
	secure := s.broker(t, false)
	e := newMQTTEnv(t, cloud.Options{}, brokerResolve(secure))
	for _, v := range mqttVersions {
		for _, useTLS := range []bool{false, true} {
			name := v.name + "/plain"
			if useTLS {
				name = v.name + "/TLS"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				tr := &transcript{}
				d := e.newDevWith(t, device.Options{Trace: tr.add})
				m := d.openMQTT(2048, 2048)
				c := connReq(plain, v.v, "session-"+name)
				if useTLS {
					c.Host, c.Port = brokerHost, uint16(secure.Port)
					c.TLS = &device.MQTTTLS{CACerts: [][]byte{s.ca.Cert.Raw}}
				}
				m.mustConnect(c)
				topic := "e2e/" + name
				m.mustSubscribe(1, topic, 1)

				m.requestPublish(10, topic, []byte("at most once"), 0, false)
				m.requestPublish(11, topic, []byte("at least once"), 1, false)
				// Two publish responses and two messages; a message may
				// overtake the response to its own publish.
				var msgs []device.MQTTMessage
				pubs := map[uint32]abi.MQTTPublishResponse{}
				for range 4 {
					switch it := m.item(); it.typ {
					case abi.MQTTReadableDataTypePublishResponse:
						pubs[it.pub.CorrelationID] = it.pub
					case abi.MQTTReadableDataTypeMessageReceived:
						msgs = append(msgs, it.msg)
					default:
						t.Fatalf("unexpected %v", it)
					}
				}
				for corr := uint32(10); corr <= 11; corr++ {
					if r := pubs[corr]; r.RequestState != abi.MQTTRequestStateRequestCompleted || r.ReasonCode != 0 {
						t.Errorf("publish %d: %+v, want REQUESTCOMPLETED reason 0", corr, r)
					}
				}
				if len(msgs) != 2 || string(msgs[0].Payload) != "at most once" || msgs[0].QoS != 0 ||
					string(msgs[1].Payload) != "at least once" || msgs[1].QoS != 1 || msgs[1].Topic != topic || msgs[1].Retain {
					t.Fatalf("messages %+v", msgs)
				}
				m.ack(msgs[1].CorrelationID)

				if st, err := d.d.MQTTRequestUnsubscribe(m.ch, 2, []string{topic}); err != nil || st != abi.StatusOkay {
					t.Fatalf("mvMqttRequestUnsubscribe: %s %v", st, err)
				}
				r := m.expect(abi.MQTTReadableDataTypeUnsubscribeResponse).codes
				if r.State != abi.MQTTRequestStateRequestCompleted || r.CorrelationID != 2 || len(r.ReasonCodes) != 1 || r.ReasonCodes[0] != 0 {
					t.Fatalf("unsubscribe response %+v", r)
				}
				// Unsubscribed: our own publish is not delivered back.
				if r := m.publish(12, topic, []byte("nobody listens"), 1, false); r.RequestState != abi.MQTTRequestStateRequestCompleted {
					t.Fatalf("publish after unsubscribe: %+v", r)
				} else if v.v == abi.MQTTProtocolVersionV5 && r.ReasonCode != 0x10 {
					t.Errorf("v5 publish without subscribers: reason %#x, want 0x10 (no matching subscribers)", r.ReasonCode)
				}

				if r := m.disconnect(); r.RequestState != abi.MQTTRequestStateRequestCompleted {
					t.Fatalf("disconnect: %+v", r)
				}
				if r := m.publish(13, topic, []byte("late"), 0, false); r.RequestState != abi.MQTTRequestStateNotConnected {
					t.Fatalf("publish after disconnect: %+v, want NOTCONNECTED", r)
				}
				m.none()

				// The device's transcript describes the calls and what
				// they returned.
				for _, want := range []string{
					fmt.Sprintf("mvMqttRequestConnect(%s %s:%d client_id=%q tls=%v) = MV_STATUS_OKAY", v.v, c.Host, c.Port, c.ClientID, useTLS),
					"mvMqttReadConnectResponse → state=MV_MQTTREQUESTSTATE_REQUESTCOMPLETED reason=0x0",
					"mvMqttReadSubscribeResponse → state=MV_MQTTREQUESTSTATE_REQUESTCOMPLETED correlation_id=1 codes=1",
					"mvMqttReceiveMessage → correlation_id=2 topic_len=" + fmt.Sprint(len(topic)) + " payload_len=13 qos=1",
					"mvMqttReadPublishResponse → state=MV_MQTTREQUESTSTATE_NOTCONNECTED correlation_id=13 reason=0x0",
					"mvMqttReadDisconnectResponse → state=MV_MQTTREQUESTSTATE_REQUESTCOMPLETED code=0x0",
				} {
					if !tr.has(want) {
						t.Errorf("transcript lacks %q:\n%s", want, tr)
					}
				}
			})
		}
	}
}

// TestMQTTClientCertificates: mutual TLS with RSA and EC client
// certificates (keys as PKCS#8 DER), both protocol versions; without a
// client certificate the broker refuses the handshake.
func TestMQTTClientCertificates(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	s := newMQTTTLS(t, time.Time{}, time.Time{})
	br := s.broker(t, true)
	e := newMQTTEnv(t, cloud.Options{}, brokerResolve(br))
	d := e.newDev(t)
	creds := map[string]*device.MQTTTLS{"RSA": s.clientTLS(t, pki.RSA), "EC": s.clientTLS(t, pki.EC)}
	for _, v := range mqttVersions {
		for _, kt := range []string{"RSA", "EC"} {
			m := d.openMQTT(1024, 4096)
			c := device.MQTTConnect{Version: v.v, Host: brokerHost, Port: uint16(br.Port), ClientID: "mtls-" + kt, Keepalive: 60, CleanStart: true, TLS: creds[kt]}
			m.mustConnect(c)
			if r := m.publish(1, "mtls/"+kt, []byte("signed"), 1, false); r.RequestState != abi.MQTTRequestStateRequestCompleted {
				t.Fatalf("%s %s publish: %+v", v.name, kt, r)
			}
			m.close()
		}
		m := d.openMQTT(1024, 4096)
		c := device.MQTTConnect{Version: v.v, Host: brokerHost, Port: uint16(br.Port), ClientID: "mtls-none", Keepalive: 60, CleanStart: true,
			TLS: &device.MQTTTLS{CACerts: [][]byte{s.ca.Cert.Raw}}}
		if r := m.connect(c); r.RequestState != abi.MQTTRequestStateSocketError {
			t.Fatalf("%s without a client certificate: %+v, want SOCKETERROR", v.name, r)
		}
		m.close()
	}
}

// TestMQTTUsernamePassword: the broker's CONNACK code reaches the
// application unchanged (3.1.1: 5 "not authorized"; v5: 0x87); after a
// refused connect the channel is not connected and takes no second
// connect.
func TestMQTTUsernamePassword(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{Users: map[string]string{"alice": "s3cret"}})
	e := newMQTTEnv(t, cloud.Options{})
	d := e.newDev(t)
	refused := map[abi.MQTTProtocolVersion]uint32{abi.MQTTProtocolVersionV311: 5, abi.MQTTProtocolVersionV5: 0x87}
	for _, v := range mqttVersions {
		for _, tc := range []struct {
			name, pass string
			want       uint32
		}{
			{"good", "s3cret", 0},
			{"bad", "wrong", refused[v.v]},
		} {
			m := d.openMQTT(1024, 1024)
			c := connReq(br, v.v, "login-"+tc.name)
			c.UseLogin, c.Username, c.Password = true, "alice", []byte(tc.pass)
			r := m.connect(c)
			if r.RequestState != abi.MQTTRequestStateRequestCompleted || r.ReasonCode != tc.want {
				t.Fatalf("%s %s password: %+v, want REQUESTCOMPLETED reason %#x", v.name, tc.name, r, tc.want)
			}
			if tc.want != 0 {
				if r := m.publish(1, "t", []byte("x"), 1, false); r.RequestState != abi.MQTTRequestStateNotConnected {
					t.Fatalf("%s publish after a refused connect: %+v, want NOTCONNECTED", v.name, r)
				}
			}
			if st, _ := d.d.MQTTRequestConnect(m.ch, c); st != abi.StatusRequestAlreadySent {
				t.Fatalf("%s second connect: %s, want REQUESTALREADYSENT", v.name, st)
			}
			m.close()
		}
	}
}

// TestMQTTConnectFailures: what stops a connect before CONNACK, as the
// application sees it.
func TestMQTTConnectFailures(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	good := newMQTTTLS(t, time.Time{}, time.Time{})
	expired := newMQTTTLS(t, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	other, err := pki.NewCA("some other CA")
	if err != nil {
		t.Fatal(err)
	}
	goodBroker := good.broker(t, false)
	expiredBroker := expired.broker(t, false)
	plain := mosquitto.Start(t, mosquitto.Options{})
	e := newMQTTEnv(t, cloud.Options{})
	d := e.newDev(t)
	cases := []struct {
		name string
		c    device.MQTTConnect
		want abi.MQTTRequestState
	}{
		{"NXDOMAIN", device.MQTTConnect{Host: "broker.mvnet.invalid", Port: 1883}, abi.MQTTRequestStateNXDomain},
		{"unknown CA", device.MQTTConnect{Host: "127.0.0.1", Port: uint16(goodBroker.Port),
			TLS: &device.MQTTTLS{CACerts: [][]byte{other.Cert.Raw}}}, abi.MQTTRequestStateUnknownCA},
		{"expired certificate", device.MQTTConnect{Host: "127.0.0.1", Port: uint16(expiredBroker.Port),
			TLS: &device.MQTTTLS{CACerts: [][]byte{expired.ca.Cert.Raw}}}, abi.MQTTRequestStateCertificateExpired},
		{"TLS to a plain broker", device.MQTTConnect{Host: "127.0.0.1", Port: uint16(plain.Port),
			TLS: &device.MQTTTLS{CACerts: [][]byte{good.ca.Cert.Raw}}}, abi.MQTTRequestStateSocketError},
	}
	for _, v := range mqttVersions {
		for _, tc := range cases {
			m := d.openMQTT(1024, 2048)
			c := tc.c
			c.Version, c.ClientID, c.Keepalive, c.CleanStart = v.v, "fail", 60, true
			if r := m.connect(c); r.RequestState != tc.want {
				t.Errorf("%s %s: %+v, want %v", v.name, tc.name, r, tc.want)
			}
			// Not connected: requests are answered NOTCONNECTED.
			if r := m.subscribe(1, device.MQTTSubscription{Topic: "t"}); r.State != abi.MQTTRequestStateNotConnected {
				t.Errorf("%s %s: subscribe %+v, want NOTCONNECTED", v.name, tc.name, r)
			}
			m.close()
		}
	}
}

// TestMQTTOutboundPolicy: broker connections obey the cloud's outbound
// policy like HTTPS requests: a loopback broker is refused (SOCKETERROR)
// unless allow-listed.
func TestMQTTOutboundPolicy(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	strict := &env{cloud: testenv.NewCloud(t, cloud.Options{})}
	m := strict.newDev(t).openMQTT(1024, 1024)
	if r := m.connect(connReq(br, abi.MQTTProtocolVersionV5, "policy")); r.RequestState != abi.MQTTRequestStateSocketError {
		t.Fatalf("connect to a loopback broker without AllowPrefixes: %+v, want SOCKETERROR", r)
	}
	allowed := newMQTTEnv(t, cloud.Options{})
	allowed.newDev(t).openMQTT(1024, 1024).mustConnect(connReq(br, abi.MQTTProtocolVersionV5, "policy"))
}

// TestMQTTRequestsBeforeConnect: every request before a connect is
// answered NOTCONNECTED; the connect itself still works afterwards, once.
func TestMQTTRequestsBeforeConnect(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	e := newMQTTEnv(t, cloud.Options{})
	d := e.newDev(t)
	m := d.openMQTT(1024, 1024)
	if r := m.subscribe(1, device.MQTTSubscription{Topic: "a", QoS: 1}); r.State != abi.MQTTRequestStateNotConnected || len(r.ReasonCodes) != 0 {
		t.Fatalf("subscribe: %+v", r)
	}
	if st, err := d.d.MQTTRequestUnsubscribe(m.ch, 2, []string{"a"}); err != nil || st != abi.StatusOkay {
		t.Fatalf("unsubscribe: %s %v", st, err)
	}
	if r := m.expect(abi.MQTTReadableDataTypeUnsubscribeResponse).codes; r.State != abi.MQTTRequestStateNotConnected || r.CorrelationID != 2 {
		t.Fatalf("unsubscribe: %+v", r)
	}
	if r := m.publish(3, "a", []byte("x"), 1, false); r.RequestState != abi.MQTTRequestStateNotConnected {
		t.Fatalf("publish: %+v", r)
	}
	m.ack(4) // nothing to acknowledge: OKAY, dropped
	if r := m.disconnect(); r.RequestState != abi.MQTTRequestStateNotConnected {
		t.Fatalf("disconnect: %+v", r)
	}
	m.none()
	m.mustConnect(connReq(br, abi.MQTTProtocolVersionV311, "late-connect"))
	if st, _ := d.d.MQTTRequestConnect(m.ch, connReq(br, abi.MQTTProtocolVersionV311, "again")); st != abi.StatusRequestAlreadySent {
		t.Fatalf("second connect: %s, want REQUESTALREADYSENT", st)
	}
	if r := m.publish(5, "a", []byte("x"), 1, false); r.RequestState != abi.MQTTRequestStateRequestCompleted {
		t.Fatalf("publish once connected: %+v", r)
	}
}

// transcript collects a device's trace as lines "call(args) = STATUS" and
// "call → result".
type transcript struct {
	mu    sync.Mutex
	lines []string
}

func (tr *transcript) add(e device.TraceEvent) {
	if e.Kind != "syscall" {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.lines = append(tr.lines, fmt.Sprintf("%s(%s) = %s", e.Call, trimHandle(e.Args), e.Status))
	if e.Result != "" {
		tr.lines = append(tr.lines, e.Call+" → "+e.Result)
	}
}

// trimHandle drops the leading "handle=0x… " of a call's arguments.
func trimHandle(args string) string {
	if strings.HasPrefix(args, "handle=") {
		if _, rest, ok := strings.Cut(args, " "); ok {
			return rest
		}
		return ""
	}
	return args
}

func (tr *transcript) has(line string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, l := range tr.lines {
		if l == line {
			return true
		}
	}
	return false
}

func (tr *transcript) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return strings.Join(tr.lines, "\n")
}
