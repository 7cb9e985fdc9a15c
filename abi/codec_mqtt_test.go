package abi_test

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

func ss(off mem.Addr, n uint32) abi.SizedString { return abi.SizedString{Data: base + off, Length: n} }

func sampleConnect() abi.MQTTConnectRequest {
	return abi.MQTTConnectRequest{
		ProtocolVersion: abi.MQTTProtocolVersionV5,
		Host:            ss(0x100, 11),
		Port:            8883,
		ClientID:        ss(0x120, 5),
		Authentication: abi.MQTTAuthentication{
			Method:           abi.MQTTAuthenticationMethodUsernamePassword,
			UsernamePassword: abi.UsernamePassword{Username: ss(0x140, 4), Password: ss(0x150, 6)},
		},
		TLSCredentials: base + 0x200,
		Keepalive:      0x0001_0000,
		CleanStart:     1,
		Will:           base + 0x300,
	}
}

// mqttRoundTrips returns, per structure, a round trip of one sample value
// through its writer and reader: the value, what was read back, and any
// error.
func mqttRoundTrips(a *abi.ABI, m mem.Memory, p mem.Addr) map[string]func() (any, any, error) {
	rt := func(v any, w func() error, r func() (any, error)) func() (any, any, error) {
		return func() (any, any, error) {
			if err := w(); err != nil {
				return v, nil, err
			}
			got, err := r()
			return v, got, err
		}
	}
	conn := sampleConnect()
	tls := abi.TLSCredentials{
		CACert:     abi.TLSCertificateChain{NumCerts: 8, Certs: base + 0x400},
		ClientCert: abi.OwnTLSCertificateChain{Chain: abi.TLSCertificateChain{NumCerts: 2, Certs: base + 0x480}, Key: ss(0x500, 1217)},
	}
	will := abi.MQTTWill{Topic: ss(0x10, 3), Payload: ss(0x20, 0), QoS: 1, Retain: 0xFF}
	cr := abi.MQTTConnectResponse{RequestState: abi.MQTTRequestStateCertificateExpired, ReasonCode: 0x87}
	sr := abi.MQTTSubscribeRequest{CorrelationID: 0xFEED_F00D, Subscriptions: base + 0x600, NumSubscriptions: 9}
	sresp := abi.MQTTSubscribeResponse{RequestState: base + 4, CorrelationID: base + 8, ReasonCodes: base + 0x40, ReasonCodesSize: 8, ReasonCodesLen: base + 12}
	uresp := abi.MQTTUnsubscribeResponse{RequestState: base + 16, CorrelationID: base + 20, ReasonCodes: base + 0x80, ReasonCodesSize: 1, ReasonCodesLen: base + 24}
	ur := abi.MQTTUnsubscribeRequest{CorrelationID: 3, Topics: base + 0x700, NumTopics: 2}
	pr := abi.MQTTPublishRequest{CorrelationID: 77, Topic: ss(0x30, 9), Payload: ss(0x800, 0x1_0000), DesiredQoS: 2, Retain: 1}
	presp := abi.MQTTPublishResponse{RequestState: abi.MQTTRequestStateNotConnected, CorrelationID: 77, ReasonCode: 0x10}
	buf := abi.SizedStringBuffer{Data: base + 0x900, Size: 256, Length: base + 0x28}
	msg := abi.MQTTMessage{
		CorrelationID: base + 0x2C, Topic: buf,
		Payload: abi.SizedStringBuffer{Data: base + 0xA00, Size: 1024, Length: base + 0x30},
		QoS:     base + 0x34, Retain: base + 0x38,
	}
	lost := abi.MQTTLostMessageInfo{Reason: base + 0x3C, Topic: buf, MessageLen: base + 0x44}
	dr := abi.MQTTDisconnectResponse{RequestState: abi.MQTTRequestStateConnectionCircuitBreaker, DisconnectCode: 0x8E}
	return map[string]func() (any, any, error){
		"ConnectRequest": rt(conn, func() error { return a.WriteMQTTConnectRequest(m, p, conn) },
			func() (any, error) { return a.ReadMQTTConnectRequest(m, p) }),
		"TLSCredentials": rt(tls, func() error { return a.WriteTLSCredentials(m, p, tls) },
			func() (any, error) { return a.ReadTLSCredentials(m, p) }),
		"Will": rt(will, func() error { return a.WriteMQTTWill(m, p, will) },
			func() (any, error) { return a.ReadMQTTWill(m, p) }),
		"ConnectResponse": rt(cr, func() error { return a.WriteMQTTConnectResponse(m, p, cr) },
			func() (any, error) { return a.ReadMQTTConnectResponse(m, p) }),
		"SubscribeRequest": rt(sr, func() error { return a.WriteMQTTSubscribeRequest(m, p, sr) },
			func() (any, error) { return a.ReadMQTTSubscribeRequest(m, p) }),
		"SubscribeResponse": rt(sresp, func() error { return a.WriteMQTTSubscribeResponse(m, p, sresp) },
			func() (any, error) { return a.ReadMQTTSubscribeResponse(m, p) }),
		"UnsubscribeRequest": rt(ur, func() error { return a.WriteMQTTUnsubscribeRequest(m, p, ur) },
			func() (any, error) { return a.ReadMQTTUnsubscribeRequest(m, p) }),
		"UnsubscribeResponse": rt(uresp, func() error { return a.WriteMQTTUnsubscribeResponse(m, p, uresp) },
			func() (any, error) { return a.ReadMQTTUnsubscribeResponse(m, p) }),
		"PublishRequest": rt(pr, func() error { return a.WriteMQTTPublishRequest(m, p, pr) },
			func() (any, error) { return a.ReadMQTTPublishRequest(m, p) }),
		"PublishResponse": rt(presp, func() error { return a.WriteMQTTPublishResponse(m, p, presp) },
			func() (any, error) { return a.ReadMQTTPublishResponse(m, p) }),
		"SizedStringBuffer": rt(buf, func() error { return a.WriteSizedStringBuffer(m, p, buf) },
			func() (any, error) { return a.ReadSizedStringBuffer(m, p) }),
		"Message": rt(msg, func() error { return a.WriteMQTTMessage(m, p, msg) },
			func() (any, error) { return a.ReadMQTTMessage(m, p) }),
		"LostMessageInfo": rt(lost, func() error { return a.WriteMQTTLostMessageInfo(m, p, lost) },
			func() (any, error) { return a.ReadMQTTLostMessageInfo(m, p) }),
		"DisconnectResponse": rt(dr, func() error { return a.WriteMQTTDisconnectResponse(m, p, dr) },
			func() (any, error) { return a.ReadMQTTDisconnectResponse(m, p) }),
	}
}

func TestMQTTRoundTrip(t *testing.T) {
	for _, a := range abis {
		m := newFlatMem(base, 4096)
		for name, f := range mqttRoundTrips(a, m, base+0x40) {
			want, got, err := f()
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: got %+v, %v; want %+v", a.Name(), name, got, err, want)
			}
		}
	}
}

// TestMQTTConnectSpecBytes decodes an MvMqttConnectRequest laid out by hand
// from spec/abi.md's offsets (dev / x64), so the codec cannot agree with
// itself and still be wrong. The authentication method is 1 byte on the
// device and 4 on x86-64.
func TestMQTTConnectSpecBytes(t *testing.T) {
	le := binary.LittleEndian
	for _, a := range abis {
		x := a.PointerSize() == 8
		pick := func(dev, x64 int) int {
			if x {
				return x64
			}
			return dev
		}
		m := newFlatMem(base, 256)
		b := m.at(base)
		for i := range b {
			b[i] = 0xCC // padding must not leak into fields
		}
		ptr := func(off int, v mem.Addr) {
			if x {
				le.PutUint64(b[off:], uint64(v))
			} else {
				le.PutUint32(b[off:], uint32(v))
			}
		}
		str := func(off int, s abi.SizedString) {
			ptr(off, s.Data)
			le.PutUint32(b[off+pick(4, 8):], s.Length)
		}
		want := sampleConnect()
		le.PutUint32(b[0:], uint32(want.ProtocolVersion))
		str(pick(4, 8), want.Host)
		le.PutUint16(b[pick(12, 24):], want.Port)
		str(pick(16, 32), want.ClientID)
		if x {
			le.PutUint32(b[48:], uint32(want.Authentication.Method))
		} else {
			b[24] = byte(want.Authentication.Method)
		}
		str(pick(28, 56), want.Authentication.UsernamePassword.Username)
		str(pick(36, 72), want.Authentication.UsernamePassword.Password)
		ptr(pick(44, 88), want.TLSCredentials)
		le.PutUint32(b[pick(48, 96):], want.Keepalive)
		b[pick(52, 100)] = want.CleanStart
		ptr(pick(56, 104), want.Will)
		got, err := a.ReadMQTTConnectRequest(m, base)
		if err != nil || got != want {
			t.Errorf("%s: decoded %+v, %v; want %+v", a.Name(), got, err, want)
		}

		// MvMqttSubscribeResponse: five pointer-or-u32 fields.
		clear(b)
		ptr(0, base+4)
		ptr(pick(4, 8), base+8)
		ptr(pick(8, 16), base+12)
		le.PutUint32(b[pick(12, 24):], 3)
		ptr(pick(16, 32), base+16)
		sr, err := a.ReadMQTTSubscribeResponse(m, base)
		wantSR := abi.MQTTSubscribeResponse{RequestState: base + 4, CorrelationID: base + 8, ReasonCodes: base + 12, ReasonCodesSize: 3, ReasonCodesLen: base + 16}
		if err != nil || sr != wantSR {
			t.Errorf("%s: subscribe response %+v, %v", a.Name(), sr, err)
		}

		// MvMqttMessage: correlation_id ptr, two MvSizedStringBuffer, qos, retain.
		clear(b)
		ptr(0, base+1)
		ptr(pick(4, 8), base+2)
		le.PutUint32(b[pick(8, 16):], 10)
		ptr(pick(12, 24), base+3)
		ptr(pick(16, 32), base+4)
		le.PutUint32(b[pick(20, 40):], 20)
		ptr(pick(24, 48), base+5)
		ptr(pick(28, 56), base+6)
		ptr(pick(32, 64), base+7)
		msg, err := a.ReadMQTTMessage(m, base)
		wantMsg := abi.MQTTMessage{
			CorrelationID: base + 1, Topic: abi.SizedStringBuffer{Data: base + 2, Size: 10, Length: base + 3},
			Payload: abi.SizedStringBuffer{Data: base + 4, Size: 20, Length: base + 5}, QoS: base + 6, Retain: base + 7,
		}
		if err != nil || msg != wantMsg {
			t.Errorf("%s: message %+v, %v", a.Name(), msg, err)
		}

		// MvMqttPublishRequest: 28 / 48 bytes.
		clear(b)
		le.PutUint32(b[0:], 5)
		str(pick(4, 8), ss(0x10, 1))
		str(pick(12, 24), ss(0x20, 2))
		le.PutUint32(b[pick(20, 40):], 1)
		le.PutUint32(b[pick(24, 44):], 1)
		pr, err := a.ReadMQTTPublishRequest(m, base)
		if err != nil || pr != (abi.MQTTPublishRequest{CorrelationID: 5, Topic: ss(0x10, 1), Payload: ss(0x20, 2), DesiredQoS: 1, Retain: 1}) {
			t.Errorf("%s: publish request %+v, %v", a.Name(), pr, err)
		}
	}
}

func TestMQTTArrays(t *testing.T) {
	for _, a := range abis {
		m := newFlatMem(base, 4096)
		var strs []abi.SizedString
		var subs []abi.MQTTSubscription
		for i := range 40 { // more than one scratch buffer's worth of either
			strs = append(strs, ss(mem.Addr(i*8), uint32(i)))
			subs = append(subs, abi.MQTTSubscription{Topic: ss(mem.Addr(i), uint32(i+1)), DesiredQoS: uint32(i % 3), NL: 1, RAP: uint32(i), RH: 2})
		}
		if err := a.WriteSizedStrings(m, base+0x100, strs); err != nil {
			t.Fatal(err)
		}
		prefix := []abi.SizedString{{Length: 99}}
		got, err := a.ReadSizedStrings(m, base+0x100, uint32(len(strs)), prefix)
		if err != nil || !reflect.DeepEqual(got[1:], strs) || got[0] != prefix[0] {
			t.Errorf("%s: sized strings %v, %v", a.Name(), got, err)
		}
		if err := a.WriteMQTTSubscriptions(m, base+0x800, subs); err != nil {
			t.Fatal(err)
		}
		gotSubs, err := a.ReadMQTTSubscriptions(m, base+0x800, uint32(len(subs)), nil)
		if err != nil || !reflect.DeepEqual(gotSubs, subs) {
			t.Errorf("%s: subscriptions %v, %v", a.Name(), gotSubs, err)
		}
		// Zero elements at a bad address read nothing and do not fault.
		if got, err := a.ReadMQTTSubscriptions(m, 0, 0, nil); err != nil || len(got) != 0 {
			t.Errorf("%s: zero subscriptions: %v %v", a.Name(), got, err)
		}
		// Off the end: mem's fault, dst unextended.
		got, err = a.ReadSizedStrings(m, base+4096-8, 2, prefix)
		if err == nil || err != m.last || len(got) != 1 {
			t.Errorf("%s: strings past the end: %d, %v", a.Name(), len(got), err)
		}
		if _, err := a.ReadMQTTSubscriptions(m, ^mem.Addr(0)-4, 2, nil); err == nil {
			t.Errorf("%s: wrapping array read without a fault", a.Name())
		}
	}
}

func TestMQTTWideAddresses(t *testing.T) {
	m := newFlatMem(base, 512)
	conn := sampleConnect()
	conn.Will = 1 << 40
	if err := abi.Device.WriteMQTTConnectRequest(m, base, conn); !errors.Is(err, abi.ErrAddressRange) {
		t.Errorf("device connect request with a wide pointer: %v", err)
	}
	if binary.LittleEndian.Uint32(m.at(base)) != 0 {
		t.Error("a refused write wrote")
	}
	msg := abi.MQTTMessage{Payload: abi.SizedStringBuffer{Length: 1 << 33}}
	if err := abi.Device.WriteMQTTMessage(m, base, msg); !errors.Is(err, abi.ErrAddressRange) {
		t.Errorf("device message with a wide pointer: %v", err)
	}
	if err := abi.Device.WriteSizedStrings(m, base, []abi.SizedString{{Data: 1 << 32}}); !errors.Is(err, abi.ErrAddressRange) {
		t.Errorf("device sized strings with a wide pointer: %v", err)
	}
	if err := abi.X64.WriteMQTTMessage(m, base, msg); err != nil {
		t.Errorf("x86-64 message with a wide pointer: %v", err)
	}
}

func TestMQTTFaults(t *testing.T) {
	for _, a := range abis {
		m := newFlatMem(base, 256)
		end := base + 255
		calls := map[string]func() error{
			"connect":  func() error { _, err := a.ReadMQTTConnectRequest(m, end); return err },
			"tls":      func() error { _, err := a.ReadTLSCredentials(m, end); return err },
			"will":     func() error { _, err := a.ReadMQTTWill(m, end); return err },
			"sub":      func() error { _, err := a.ReadMQTTSubscribeRequest(m, end); return err },
			"subresp":  func() error { _, err := a.ReadMQTTSubscribeResponse(m, end); return err },
			"unsub":    func() error { _, err := a.ReadMQTTUnsubscribeRequest(m, end); return err },
			"pub":      func() error { _, err := a.ReadMQTTPublishRequest(m, end); return err },
			"msg":      func() error { _, err := a.ReadMQTTMessage(m, end); return err },
			"lost":     func() error { _, err := a.ReadMQTTLostMessageInfo(m, end); return err },
			"wconn":    func() error { return a.WriteMQTTConnectResponse(m, end, abi.MQTTConnectResponse{}) },
			"wpub":     func() error { return a.WriteMQTTPublishResponse(m, end, abi.MQTTPublishResponse{}) },
			"wdisc":    func() error { return a.WriteMQTTDisconnectResponse(m, end, abi.MQTTDisconnectResponse{}) },
			"wsubs":    func() error { return a.WriteMQTTSubscriptions(m, end, make([]abi.MQTTSubscription, 1)) },
			"rstrings": func() error { _, err := a.ReadSizedStrings(m, end, 1, nil); return err },
		}
		for name, f := range calls {
			if err := f(); err == nil || err != m.last {
				t.Errorf("%s %s: err %v, want mem's fault %v", a.Name(), name, err, m.last)
			}
		}
	}
}

// TestMQTTCodecsDoNotAllocate holds the MQTT codecs to the package's
// no-allocation promise.
func TestMQTTCodecsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	m := newFlatMem(base, 4096)
	for _, a := range abis {
		if err := a.WriteMQTTConnectRequest(m, base, sampleConnect()); err != nil {
			t.Fatal(err)
		}
		strs := make([]abi.SizedString, 0, 8)
		subs := make([]abi.MQTTSubscription, 0, 8)
		allocs := testing.AllocsPerRun(1000, func() {
			_, _ = a.ReadMQTTConnectRequest(m, base)
			_, _ = a.ReadTLSCredentials(m, base)
			_, _ = a.ReadMQTTWill(m, base)
			_, _ = a.ReadMQTTSubscribeRequest(m, base)
			_, _ = a.ReadMQTTSubscribeResponse(m, base)
			_, _ = a.ReadMQTTUnsubscribeRequest(m, base)
			_, _ = a.ReadMQTTUnsubscribeResponse(m, base)
			_, _ = a.ReadMQTTPublishRequest(m, base)
			_, _ = a.ReadMQTTMessage(m, base)
			_, _ = a.ReadMQTTLostMessageInfo(m, base)
			_, _ = a.ReadSizedStrings(m, base, 8, strs[:0])
			_, _ = a.ReadMQTTSubscriptions(m, base, 8, subs[:0])
			_ = a.WriteMQTTConnectResponse(m, base+0x800, abi.MQTTConnectResponse{ReasonCode: 1})
			_ = a.WriteMQTTPublishResponse(m, base+0x800, abi.MQTTPublishResponse{ReasonCode: 1})
			_ = a.WriteMQTTDisconnectResponse(m, base+0x800, abi.MQTTDisconnectResponse{DisconnectCode: 1})
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per run, want 0", a.Name(), allocs)
		}
	}
}
