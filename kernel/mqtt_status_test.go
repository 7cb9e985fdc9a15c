package kernel_test

// Every status of every MQTT call, through the device ABI in an Arena, in
// the order spec/abi.md lists them.

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// lyingMem is an Arena whose checks pass for a few addresses that then
// fault when accessed: memory that changes between a call's checks and its
// effect, the one way to reach some LATEFAULTs deterministically.
type lyingMem struct {
	*mem.Arena
	mu   sync.Mutex
	lieR map[mem.Addr]bool // reads from here fault
	lieW map[mem.Addr]bool // writes to here fault
}

func (m *lyingMem) lie(p mem.Addr, write bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if write {
		m.lieW[p] = true
	} else {
		m.lieR[p] = true
	}
}

func (m *lyingMem) lies(p mem.Addr, write bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if write {
		return m.lieW[p]
	}
	return m.lieR[p]
}

func (m *lyingMem) Check(p mem.Addr, n uint64, write bool) error {
	if m.lies(p, write) {
		return nil
	}
	return m.Arena.Check(p, n, write)
}

func (m *lyingMem) CopyIn(dst []byte, src mem.Addr) error {
	if m.lies(src, false) {
		return &mem.Fault{Addr: src, Len: uint64(len(dst)), Kind: mem.Unmapped}
	}
	return m.Arena.CopyIn(dst, src)
}

func (m *lyingMem) CopyOut(dst mem.Addr, src []byte) error {
	if m.lies(dst, true) {
		return &mem.Fault{Addr: dst, Len: uint64(len(src)), Write: true, Kind: mem.Unmapped}
	}
	return m.Arena.CopyOut(dst, src)
}

// newLyingHarness is newHarness whose kernel sees the Arena through a
// lyingMem.
func newLyingHarness(t *testing.T) (*harness, *lyingMem) {
	t.Helper()
	var lm *lyingMem
	h := newHarness(t, func(_ *fakeCloud, o *kernel.Options) {
		lm = &lyingMem{Arena: o.Memory.(*mem.Arena), lieR: map[mem.Addr]bool{}, lieW: map[mem.Addr]bool{}}
		o.Memory = lm
	})
	return h, lm
}

// lateOrInvalid is what a LATEFAULT case gives with handle 0: LATEFAULT
// comes before INVALIDHANDLE, except for memory that changes during the
// call (named "changed"), which only the copy after the handle check finds.
func lateOrInvalid(name string) abi.Status {
	if strings.Contains(name, "changed") {
		return abi.StatusInvalidHandle
	}
	return abi.StatusLateFault
}

// rawStrings places an array of MvSizedString as given.
func (h *harness) rawStrings(ss ...abi.SizedString) mem.Addr {
	h.t.Helper()
	p := h.alloc(uint64(max(8*len(ss), 1)), 4)
	if err := abi.Device.WriteSizedStrings(h.a, p, ss); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func certs(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf("cert-%d", i))
	}
	return out
}

// checkUnusable checks that a LATEFAULT left ch refusing requests and
// acknowledgements while reads go on, and that nothing reached the cloud.
func (h *harness) checkUnusable(t *testing.T, ch *channel, sentBefore int) {
	t.Helper()
	wantStatus(t, "connect after LATEFAULT", h.k.MQTTRequestConnect(ch.handle, h.writeConnect(h.connectReq("b", "d"))), abi.StatusChannelClosed)
	wantStatus(t, "subscribe after LATEFAULT", h.k.MQTTRequestSubscribe(ch.handle, h.subReq(1, h.sub("a", 0))), abi.StatusChannelClosed)
	wantStatus(t, "unsubscribe after LATEFAULT", h.k.MQTTRequestUnsubscribe(ch.handle, h.unsubReq(1, "a")), abi.StatusChannelClosed)
	wantStatus(t, "publish after LATEFAULT", h.publish(ch, 1, "t", nil, 0), abi.StatusChannelClosed)
	wantStatus(t, "ack after LATEFAULT", h.k.MQTTAcknowledgeMessage(ch.handle, 1), abi.StatusChannelClosed)
	wantStatus(t, "disconnect after LATEFAULT", h.k.MQTTRequestDisconnect(ch.handle), abi.StatusChannelClosed)
	h.cloud.sync(t)
	if n := len(h.cloud.mqttRequests(t, ch.handle)); n != sentBefore {
		t.Fatalf("the cloud got %d requests, want %d", n, sentBefore)
	}
	// Reads go on.
	h.cloud.item(t, ch.handle, &link.MQTTMessageItem{MessageID: 3, Topic: "m"})
	if got, st := h.receive(ch, 4, 4); st != abi.StatusOkay || got.corr != 3 {
		t.Fatalf("read after LATEFAULT: %+v, %v", got, st)
	}
}

func TestMQTTRequestConnectStatuses(t *testing.T) {
	h, lm := newLyingHarness(t)
	c, nw := h.ready()
	h.cloud.setAutoCredit(true)
	httpCh := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
	ch := h.mqttOpen(c, nw, 1024, 1024, 2)
	good := func() abi.MQTTConnectRequest { return h.connectReq("broker", "dev") }
	connect := func(handle uint32, r abi.MQTTConnectRequest) abi.Status {
		return h.k.MQTTRequestConnect(handle, h.writeConnect(r))
	}

	// PARAMETERFAULT: the request structure itself.
	for _, b := range badReadPtrs {
		wantStatus(t, "request "+b.name, h.k.MQTTRequestConnect(ch.handle, b.addr), abi.StatusParameterFault)
	}
	wantStatus(t, "request runs off SRAM", h.k.MQTTRequestConnect(ch.handle, sramEnd-40), abi.StatusParameterFault)
	wantStatus(t, "bad request, bad handle", h.k.MQTTRequestConnect(0, 0), abi.StatusParameterFault)

	// LATEFAULT: a pointer inside it. Each leaves its channel unusable.
	up := func(r *abi.MQTTConnectRequest, user, pass abi.SizedString) {
		r.Authentication = abi.MQTTAuthentication{Method: abi.MQTTAuthenticationMethodUsernamePassword,
			UsernamePassword: abi.UsernamePassword{Username: user, Password: pass}}
	}
	badStr := abi.SizedString{Data: bad, Length: 3}
	late := []struct {
		name string
		mod  func(r *abi.MQTTConnectRequest)
	}{
		{"host", func(r *abi.MQTTConnectRequest) { r.Host = badStr }},
		{"host off SRAM", func(r *abi.MQTTConnectRequest) { r.Host = abi.SizedString{Data: sramEnd - 2, Length: 4} }},
		{"client ID", func(r *abi.MQTTConnectRequest) { r.ClientID = badStr }},
		{"username", func(r *abi.MQTTConnectRequest) { up(r, badStr, h.str("p")) }},
		{"password", func(r *abi.MQTTConnectRequest) { up(r, h.str("u"), badStr) }},
		{"tls_credentials", func(r *abi.MQTTConnectRequest) { r.TLSCredentials = bad }},
		{"tls_credentials off SRAM", func(r *abi.MQTTConnectRequest) { r.TLSCredentials = sramEnd - 8 }},
		{"CA array", func(r *abi.MQTTConnectRequest) {
			r.TLSCredentials = h.writeTLS(abi.TLSCredentials{CACert: abi.TLSCertificateChain{NumCerts: 1, Certs: bad}})
		}},
		{"CA certificate", func(r *abi.MQTTConnectRequest) {
			r.TLSCredentials = h.writeTLS(abi.TLSCredentials{CACert: abi.TLSCertificateChain{NumCerts: 2,
				Certs: h.rawStrings(h.str("ok"), badStr)}})
		}},
		{"client certificate array", func(r *abi.MQTTConnectRequest) {
			r.TLSCredentials = h.writeTLS(abi.TLSCredentials{ClientCert: abi.OwnTLSCertificateChain{
				Chain: abi.TLSCertificateChain{NumCerts: 1, Certs: sramEnd - 4}, Key: h.str("k")}})
		}},
		{"client certificate", func(r *abi.MQTTConnectRequest) {
			r.TLSCredentials = h.writeTLS(abi.TLSCredentials{ClientCert: abi.OwnTLSCertificateChain{
				Chain: abi.TLSCertificateChain{NumCerts: 1, Certs: h.rawStrings(badStr)}, Key: h.str("k")}})
		}},
		{"key", func(r *abi.MQTTConnectRequest) {
			r.TLSCredentials = h.tlsCreds(nil, certs(1), nil)
			h.setKey(r, badStr)
		}},
		{"will", func(r *abi.MQTTConnectRequest) { r.Will = bad }},
		{"will topic", func(r *abi.MQTTConnectRequest) {
			r.Will = h.writeWill(abi.MQTTWill{Topic: badStr, Payload: h.str("p")})
		}},
		{"will payload", func(r *abi.MQTTConnectRequest) {
			r.Will = h.writeWill(abi.MQTTWill{Topic: h.str("t"), Payload: badStr})
		}},
		{"host changed under the call", func(r *abi.MQTTConnectRequest) {
			r.Host = h.str("broker")
			lm.lie(r.Host.Data, false) // the checks pass, the copy faults
		}},
	}
	for i, tc := range late {
		t.Run("LATEFAULT "+tc.name, func(t *testing.T) {
			h.clk.advance(time.Second)
			lc := h.mqttOpen(c, nw, 512, 512, uint32(0x100+i))
			r := good()
			tc.mod(&r)
			defer h.k.CloseChannel(lc.hp)
			wantStatus(t, "handle 0", connect(0, r), lateOrInvalid(tc.name))
			wantStatus(t, "mvMqttRequestConnect", connect(lc.handle, r), abi.StatusLateFault)
			h.checkUnusable(t, lc, 0)
		})
	}
	// With method NONE the username and password are not looked at; with
	// no TLS credentials nothing inside them is.
	lateButUnused := good()
	lateButUnused.Authentication.UsernamePassword = abi.UsernamePassword{Username: badStr, Password: badStr}

	// INVALIDHANDLE.
	closedCh := h.mqttOpen(c, nw, 512, 512, 3)
	h.closeChannel(closedCh)
	for name, handle := range map[string]uint32{"0": 0, "random": 0x1234, "HTTP channel": httpCh.handle,
		"closed channel": closedCh.handle, "notification centre": c.handle} {
		wantStatus(t, "handle "+name, connect(handle, good()), abi.StatusInvalidHandle)
	}
	noHost := good()
	noHost.Host.Length = 0
	wantStatus(t, "handle 0, no host (INVALIDHANDLE first)", connect(0, noHost), abi.StatusInvalidHandle)

	// INVALIDAUTHENTICATION.
	both := good()
	up(&both, h.str("u"), h.str("p"))
	both.TLSCredentials = h.tlsCreds(nil, certs(1), []byte("key"))
	wantStatus(t, "username/password and a client certificate", connect(ch.handle, both), abi.StatusInvalidAuthentication)
	unknown := good()
	unknown.Authentication.Method = 2
	wantStatus(t, "method 2", connect(ch.handle, unknown), abi.StatusInvalidAuthentication)
	bothMany := both
	bothMany.TLSCredentials = h.tlsCreds(certs(9), certs(9), []byte("key"))
	wantStatus(t, "both and 9 certificates (INVALIDAUTHENTICATION first)", connect(ch.handle, bothMany), abi.StatusInvalidAuthentication)
	// A username with CA certificates only is fine (tested below).

	// TOOMANYELEMENTS.
	manyCA := good()
	manyCA.TLSCredentials = h.tlsCreds(certs(9), nil, nil)
	wantStatus(t, "9 CA certificates", connect(ch.handle, manyCA), abi.StatusTooManyElements)
	manyClient := good()
	manyClient.TLSCredentials = h.tlsCreds(certs(1), certs(9), []byte("key"))
	wantStatus(t, "9 client certificates", connect(ch.handle, manyClient), abi.StatusTooManyElements)
	manyBadArray := good()
	manyBadArray.TLSCredentials = h.writeTLS(abi.TLSCredentials{CACert: abi.TLSCertificateChain{NumCerts: 100, Certs: bad}})
	wantStatus(t, "100 certificates at a bad address (not read)", connect(ch.handle, manyBadArray), abi.StatusTooManyElements)
	manyNoHost := manyCA
	manyNoHost.Host.Length = 0
	wantStatus(t, "9 certificates, no host (TOOMANYELEMENTS first)", connect(ch.handle, manyNoHost), abi.StatusTooManyElements)

	// REQUIREDELEMENTMISSING.
	missing := map[string]func(r *abi.MQTTConnectRequest){
		"no host":                        func(r *abi.MQTTConnectRequest) { r.Host = abi.SizedString{} },
		"no client ID, no clean start":   func(r *abi.MQTTConnectRequest) { r.ClientID = abi.SizedString{}; r.CleanStart = 0 },
		"client certificate without key": func(r *abi.MQTTConnectRequest) { r.TLSCredentials = h.tlsCreds(certs(1), certs(1), nil) },
		"will without topic":             func(r *abi.MQTTConnectRequest) { r.Will = h.will("", "p", 0, 0) },
		"will without payload":           func(r *abi.MQTTConnectRequest) { r.Will = h.will("t", "", 0, 0) },
	}
	for name, mod := range missing {
		r := good()
		mod(&r)
		wantStatus(t, name, connect(ch.handle, r), abi.StatusRequiredElementMissing)
	}
	h.cloud.sync(t)
	if d := h.cloud.data(ch.handle); len(d) != 0 {
		t.Fatalf("failed connects sent %d bytes", len(d))
	}

	// OKAY, then REQUESTALREADYSENT, before anything else but the handle.
	ok := good()
	up(&ok, h.str("u"), h.str("p"))
	ok.TLSCredentials = h.tlsCreds(certs(2), nil, nil)
	wantStatus(t, "username/password over TLS", h.call("mvMqttRequestConnect", uint64(ch.handle), uint64(h.writeConnect(ok))), abi.StatusOkay)
	wantStatus(t, "again", connect(ch.handle, ok), abi.StatusRequestAlreadySent)
	wantStatus(t, "again, with bad authentication (REQUESTALREADYSENT first)", connect(ch.handle, both), abi.StatusRequestAlreadySent)
	wantStatus(t, "again, with no host", connect(ch.handle, noHost), abi.StatusRequestAlreadySent)

	// CHANNELCLOSED: the cloud closed the channel, whatever the request.
	h.clk.advance(time.Second)
	cc := h.mqttOpen(c, nw, 512, 512, 4)
	h.serverClose(c, cc)
	wantStatus(t, "closed by the server", connect(cc.handle, good()), abi.StatusChannelClosed)
	wantStatus(t, "closed, no host (CHANNELCLOSED first)", connect(cc.handle, noHost), abi.StatusChannelClosed)
	h.closeChannel(cc)

	h.clk.advance(time.Second)
	unused := h.mqttOpen(c, nw, 512, 512, 5)
	wantStatus(t, "bad username pointer with method NONE", connect(unused.handle, lateButUnused), abi.StatusOkay)
}

// setKey sets the client key of the MvTlsCredentials r points to.
func (h *harness) setKey(r *abi.MQTTConnectRequest, key abi.SizedString) {
	h.t.Helper()
	v, err := abi.Device.ReadTLSCredentials(h.a, r.TLSCredentials)
	if err != nil {
		h.t.Fatal(err)
	}
	v.ClientCert.Key = key
	r.TLSCredentials = h.writeTLS(v)
}

// subCall is mvMqttRequestSubscribe or mvMqttRequestUnsubscribe, with ways
// to build its requests.
type subCall struct {
	name  string
	call  func(h *harness, handle uint32, p mem.Addr) abi.Status
	req   func(h *harness, corr uint32, topics ...string) mem.Addr
	array func(h *harness, arr mem.Addr, n uint32) mem.Addr // a request over any array
	elems func(h *harness, topics ...abi.SizedString) mem.Addr
}

var subCalls = []subCall{
	{
		name: "mvMqttRequestSubscribe",
		call: func(h *harness, handle uint32, p mem.Addr) abi.Status { return h.k.MQTTRequestSubscribe(handle, p) },
		req: func(h *harness, corr uint32, topics ...string) mem.Addr {
			subs := make([]abi.MQTTSubscription, len(topics))
			for i, s := range topics {
				subs[i] = h.sub(s, 1)
			}
			return h.subReq(corr, subs...)
		},
		array: func(h *harness, arr mem.Addr, n uint32) mem.Addr {
			return h.writeSubReq(abi.MQTTSubscribeRequest{CorrelationID: 1, Subscriptions: arr, NumSubscriptions: n})
		},
		elems: func(h *harness, topics ...abi.SizedString) mem.Addr {
			subs := make([]abi.MQTTSubscription, len(topics))
			for i, s := range topics {
				subs[i] = abi.MQTTSubscription{Topic: s}
			}
			return h.subReq(1, subs...)
		},
	},
	{
		name: "mvMqttRequestUnsubscribe",
		call: func(h *harness, handle uint32, p mem.Addr) abi.Status { return h.k.MQTTRequestUnsubscribe(handle, p) },
		req:  func(h *harness, corr uint32, topics ...string) mem.Addr { return h.unsubReq(corr, topics...) },
		array: func(h *harness, arr mem.Addr, n uint32) mem.Addr {
			return h.writeUnsubReq(abi.MQTTUnsubscribeRequest{CorrelationID: 1, Topics: arr, NumTopics: n})
		},
		elems: func(h *harness, topics ...abi.SizedString) mem.Addr {
			return h.writeUnsubReq(abi.MQTTUnsubscribeRequest{CorrelationID: 1, Topics: h.rawStrings(topics...), NumTopics: uint32(len(topics))})
		},
	},
}

func TestMQTTRequestSubscribeStatuses(t *testing.T) {
	for _, sc := range subCalls {
		t.Run(sc.name, func(t *testing.T) {
			h, lm := newLyingHarness(t)
			c, nw := h.ready()
			httpCh := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
			ch := h.mqttConnected(c, nw, 1024, 1024, 2)

			for _, b := range badReadPtrs {
				wantStatus(t, "request "+b.name, sc.call(h, ch.handle, b.addr), abi.StatusParameterFault)
			}
			wantStatus(t, "request runs off SRAM", sc.call(h, ch.handle, sramEnd-8), abi.StatusParameterFault)

			topic := h.str("a")
			lateReqs := map[string]func() mem.Addr{
				"array":                 func() mem.Addr { return sc.array(h, bad, 1) },
				"array off SRAM":        func() mem.Addr { return sc.array(h, sramEnd-12, 2) },
				"topic":                 func() mem.Addr { return sc.elems(h, topic, abi.SizedString{Data: bad, Length: 1}) },
				"topic changed in call": func() mem.Addr { s := h.str("b"); lm.lie(s.Data, false); return sc.elems(h, topic, s) },
			}
			i := 0
			for name, req := range lateReqs {
				t.Run("LATEFAULT "+name, func(t *testing.T) {
					h.clk.advance(time.Second)
					lc := h.mqttConnected(c, nw, 512, 512, uint32(0x200+i))
					i++
					defer h.k.CloseChannel(lc.hp)
					p := req()
					wantStatus(t, "handle 0", sc.call(h, 0, p), lateOrInvalid(name))
					wantStatus(t, sc.name, sc.call(h, lc.handle, p), abi.StatusLateFault)
					h.checkUnusable(t, lc, 1)
				})
			}

			for name, handle := range map[string]uint32{"0": 0, "random": 0x1234, "HTTP channel": httpCh.handle} {
				wantStatus(t, "handle "+name, sc.call(h, handle, sc.req(h, 1, "a")), abi.StatusInvalidHandle)
			}
			wantStatus(t, "handle 0, 9 topics (INVALIDHANDLE first)", sc.call(h, 0, sc.array(h, bad, 9)), abi.StatusInvalidHandle)

			// TOOMANYELEMENTS: the array is not read.
			wantStatus(t, "9 topics", sc.call(h, ch.handle, sc.req(h, 1, "1", "2", "3", "4", "5", "6", "7", "8", "9")), abi.StatusTooManyElements)
			wantStatus(t, "1000 topics at a bad address", sc.call(h, ch.handle, sc.array(h, bad, 1000)), abi.StatusTooManyElements)

			// RATELIMITED: one in flight, before TOOMANYELEMENTS.
			wantStatus(t, "8 topics", h.call(sc.name, uint64(ch.handle), uint64(sc.req(h, 7, "1", "2", "3", "4", "5", "6", "7", "8"))), abi.StatusOkay)
			wantStatus(t, "second", sc.call(h, ch.handle, sc.req(h, 8, "a")), abi.StatusRateLimited)
			wantStatus(t, "second, 9 topics (RATELIMITED first)", sc.call(h, ch.handle, sc.array(h, bad, 9)), abi.StatusRateLimited)
			for _, other := range subCalls {
				wantStatus(t, "then "+other.name, other.call(h, ch.handle, other.req(h, 8, "a")), abi.StatusRateLimited)
			}

			// CHANNELCLOSED.
			h.serverClose(c, ch)
			wantStatus(t, "closed by the server", sc.call(h, ch.handle, sc.req(h, 1, "a")), abi.StatusChannelClosed)
			wantStatus(t, "closed, 9 topics (CHANNELCLOSED first)", sc.call(h, ch.handle, sc.array(h, bad, 9)), abi.StatusChannelClosed)
		})
	}
}

func TestMQTTRequestPublishStatuses(t *testing.T) {
	h, lm := newLyingHarness(t)
	c, nw := h.ready()
	httpCh := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
	ch := h.mqttConnected(c, nw, 1024, 1024, 2)
	for _, b := range badReadPtrs {
		wantStatus(t, "request "+b.name, h.k.MQTTRequestPublish(ch.handle, b.addr), abi.StatusParameterFault)
	}
	wantStatus(t, "request runs off SRAM", h.k.MQTTRequestPublish(ch.handle, sramEnd-20), abi.StatusParameterFault)

	badStr := abi.SizedString{Data: bad, Length: 2}
	late := map[string]func() mem.Addr{
		"topic":   func() mem.Addr { return h.writePubReq(abi.MQTTPublishRequest{Topic: badStr, Payload: h.str("p")}) },
		"payload": func() mem.Addr { return h.writePubReq(abi.MQTTPublishRequest{Topic: h.str("t"), Payload: badStr}) },
		"payload off SRAM": func() mem.Addr {
			return h.writePubReq(abi.MQTTPublishRequest{Topic: h.str("t"), Payload: abi.SizedString{Data: sramEnd - 1, Length: 2}})
		},
		"payload changed in call": func() mem.Addr {
			p := h.str("payload")
			lm.lie(p.Data, false)
			return h.writePubReq(abi.MQTTPublishRequest{Topic: h.str("t"), Payload: p})
		},
	}
	i := 0
	for name, req := range late {
		t.Run("LATEFAULT "+name, func(t *testing.T) {
			h.clk.advance(time.Second)
			lc := h.mqttConnected(c, nw, 512, 512, uint32(0x300+i))
			i++
			defer h.k.CloseChannel(lc.hp)
			p := req()
			wantStatus(t, "handle 0", h.k.MQTTRequestPublish(0, p), lateOrInvalid(name))
			wantStatus(t, "mvMqttRequestPublish", h.k.MQTTRequestPublish(lc.handle, p), abi.StatusLateFault)
			h.checkUnusable(t, lc, 1)
		})
	}
	for name, handle := range map[string]uint32{"0": 0, "random": 0x1234, "HTTP channel": httpCh.handle} {
		wantStatus(t, "handle "+name, h.publish(&channel{handle: handle}, 1, "t", nil, 0), abi.StatusInvalidHandle)
	}
	for i := range 16 {
		wantStatus(t, fmt.Sprint("publish ", i), h.call("mvMqttRequestPublish", uint64(ch.handle), uint64(h.pubReq(uint32(i), "t", nil, 1, 0))), abi.StatusOkay)
	}
	wantStatus(t, "17th", h.publish(ch, 16, "t", nil, 1), abi.StatusRateLimited)
	h.serverClose(c, ch)
	wantStatus(t, "closed by the server", h.publish(ch, 17, "t", nil, 1), abi.StatusChannelClosed)
}

func TestMQTTAcknowledgeAndDisconnectStatuses(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	httpCh := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
	ch := h.mqttConnected(c, nw, 1024, 1024, 2)
	for name, handle := range map[string]uint32{"0": 0, "random": 0x1234, "HTTP channel": httpCh.handle} {
		wantStatus(t, "ack, handle "+name, h.k.MQTTAcknowledgeMessage(handle, 1), abi.StatusInvalidHandle)
		wantStatus(t, "disconnect, handle "+name, h.k.MQTTRequestDisconnect(handle), abi.StatusInvalidHandle)
	}
	wantStatus(t, "ack", h.call("mvMqttAcknowledgeMessage", uint64(ch.handle), 0xFFFF_FFFF), abi.StatusOkay)
	reqs := h.cloud.waitRequests(t, ch.handle, 2)
	if reqs[1].(*link.MQTTAckRequest).MessageID != 0xFFFF_FFFF {
		t.Fatalf("the cloud got %#v", reqs[1])
	}
	// RATELIMITED (no room in the send ring) is in TestMQTTSendRingFull.
	h.serverClose(c, ch)
	wantStatus(t, "ack, closed", h.k.MQTTAcknowledgeMessage(ch.handle, 1), abi.StatusChannelClosed)
	wantStatus(t, "disconnect, closed", h.k.MQTTRequestDisconnect(ch.handle), abi.StatusChannelClosed)
}

func TestMQTTGetNextReadableDataTypeStatuses(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	httpCh := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
	ch := h.mqttConnected(c, nw, 1024, 1024, 2)
	for _, b := range badWritePtrs {
		wantStatus(t, "type "+b.name, h.k.MQTTGetNextReadableDataType(ch.handle, b.addr), abi.StatusParameterFault)
	}
	wantStatus(t, "bad pointer, bad handle", h.k.MQTTGetNextReadableDataType(0, 0), abi.StatusParameterFault)
	for name, handle := range map[string]uint32{"0": 0, "random": 0x1234, "HTTP channel": httpCh.handle} {
		wantStatus(t, "handle "+name, h.k.MQTTGetNextReadableDataType(handle, h.out(4)), abi.StatusInvalidHandle)
	}
	p := h.out(4)
	wantStatus(t, "via Call", h.call("mvMqttGetNextReadableDataType", uint64(ch.handle), uint64(p)), abi.StatusOkay)
	if h.u32(p) != uint32(abi.MQTTReadableDataTypeNone) {
		t.Fatalf("type %d, want NONE", h.u32(p))
	}
	h.cloud.item(t, ch.handle, &link.MQTTPublishResponseItem{CorrelationID: 1})
	h.serverClose(c, ch)
	if got := h.nextType(ch); got != abi.MQTTReadableDataTypePublishResponse {
		t.Fatalf("after the close, next is %v", got)
	}
	if _, st := h.readPublish(ch); st != abi.StatusOkay {
		t.Fatal(st)
	}
	wantStatus(t, "closed and empty", h.k.MQTTGetNextReadableDataType(ch.handle, p), abi.StatusChannelClosed)
}

// readCall is one of the read calls, with the item it reads and the
// structures to call it with.
type readCall struct {
	name  string
	item  link.MQTTItem
	other link.MQTTItem // an item of another kind
	// constIn: the structure is only read (its pointers are the outputs),
	// so read-only memory is no fault for the structure itself.
	constIn bool
	call    func(h *harness, handle uint32, p mem.Addr) abi.Status
	good    func(h *harness) mem.Addr
	late    map[string]func(h *harness) mem.Addr // one bad output pointer each
	small   func(h *harness) mem.Addr            // too small for item: INVALIDBUFFERSIZE
}

func codesWith(mod func(h *harness, r *abi.MQTTSubscribeResponse)) func(h *harness) mem.Addr {
	return func(h *harness) mem.Addr {
		_, r := h.codesOut(8)
		mod(h, &r)
		return h.writeCodesOut(r)
	}
}

func msgWith(mod func(m *abi.MQTTMessage)) func(h *harness) mem.Addr {
	return func(h *harness) mem.Addr {
		m := h.msgBufs(16, 16)
		mod(&m)
		return h.writeMsg(m)
	}
}

func lostWith(mod func(l *abi.MQTTLostMessageInfo)) func(h *harness) mem.Addr {
	return func(h *harness) mem.Addr {
		l := h.lostBufs(16)
		mod(&l)
		return h.writeLost(l)
	}
}

var codesLate = map[string]func(h *harness) mem.Addr{
	"request_state":         codesWith(func(h *harness, r *abi.MQTTSubscribeResponse) { r.RequestState = flashBase }),
	"correlation_id":        codesWith(func(h *harness, r *abi.MQTTSubscribeResponse) { r.CorrelationID = bad }),
	"reason_codes":          codesWith(func(h *harness, r *abi.MQTTSubscribeResponse) { r.ReasonCodes = flashBase }),
	"reason_codes too long": codesWith(func(h *harness, r *abi.MQTTSubscribeResponse) { r.ReasonCodes = sramEnd - 8; r.ReasonCodesSize = 3 }),
	"reason_codes_len":      codesWith(func(h *harness, r *abi.MQTTSubscribeResponse) { r.ReasonCodesLen = 0 }),
}

var readCalls = []readCall{
	{
		name: "mvMqttReadConnectResponse", item: &link.MQTTConnectResponseItem{ReasonCode: 5}, other: &link.MQTTPublishResponseItem{},
		call: func(h *harness, handle uint32, p mem.Addr) abi.Status { return h.k.MQTTReadConnectResponse(handle, p) },
		good: func(h *harness) mem.Addr { return h.out(8) },
	},
	{
		name: "mvMqttReadPublishResponse", item: &link.MQTTPublishResponseItem{CorrelationID: 5}, other: &link.MQTTConnectResponseItem{},
		call: func(h *harness, handle uint32, p mem.Addr) abi.Status { return h.k.MQTTReadPublishResponse(handle, p) },
		good: func(h *harness) mem.Addr { return h.out(12) },
	},
	{
		name: "mvMqttReadDisconnectResponse", item: &link.MQTTDisconnectResponseItem{DisconnectCode: 5}, other: &link.MQTTConnectResponseItem{},
		call: func(h *harness, handle uint32, p mem.Addr) abi.Status {
			return h.k.MQTTReadDisconnectResponse(handle, p)
		},
		good: func(h *harness) mem.Addr { return h.out(8) },
	},
	{
		name: "mvMqttReadSubscribeResponse", item: &link.MQTTSubscribeResponseItem{CorrelationID: 5, ReasonCodes: []byte{0, 1, 2}},
		other: &link.MQTTUnsubscribeResponseItem{}, constIn: true,
		call: func(h *harness, handle uint32, p mem.Addr) abi.Status {
			return h.k.MQTTReadSubscribeResponse(handle, p)
		},
		good:  func(h *harness) mem.Addr { p, _ := h.codesOut(3); return p },
		late:  codesLate,
		small: func(h *harness) mem.Addr { p, _ := h.codesOut(2); return p },
	},
	{
		name: "mvMqttReadUnsubscribeResponse", item: &link.MQTTUnsubscribeResponseItem{CorrelationID: 5, ReasonCodes: []byte{0x11}},
		other: &link.MQTTSubscribeResponseItem{}, constIn: true,
		call: func(h *harness, handle uint32, p mem.Addr) abi.Status {
			return h.k.MQTTReadUnsubscribeResponse(handle, p)
		},
		good:  func(h *harness) mem.Addr { p, _ := h.codesOut(1); return p },
		late:  codesLate,
		small: func(h *harness) mem.Addr { p, _ := h.codesOut(0); return p },
	},
	{
		name: "mvMqttReceiveMessage", item: &link.MQTTMessageItem{MessageID: 5, Topic: "topic", Payload: []byte("payload")},
		other: &link.MQTTMessageLostItem{}, constIn: true,
		call: func(h *harness, handle uint32, p mem.Addr) abi.Status { return h.k.MQTTReceiveMessage(handle, p) },
		good: msgWith(func(*abi.MQTTMessage) {}),
		late: map[string]func(h *harness) mem.Addr{
			"correlation_id": msgWith(func(m *abi.MQTTMessage) { m.CorrelationID = flashBase }),
			"topic.data":     msgWith(func(m *abi.MQTTMessage) { m.Topic.Data = bad }),
			"topic.size":     msgWith(func(m *abi.MQTTMessage) { m.Topic.Data = sramEnd - 8 }),
			"topic.length":   msgWith(func(m *abi.MQTTMessage) { m.Topic.Length = flashBase }),
			"payload.data":   msgWith(func(m *abi.MQTTMessage) { m.Payload.Data = 0 }),
			"payload.length": msgWith(func(m *abi.MQTTMessage) { m.Payload.Length = bad }),
			"qos":            msgWith(func(m *abi.MQTTMessage) { m.QoS = sramEnd - 2 }),
			"retain":         msgWith(func(m *abi.MQTTMessage) { m.Retain = flashBase }),
		},
		small: msgWith(func(m *abi.MQTTMessage) { m.Payload.Size = 6 }),
	},
	{
		name: "mvMqttReceiveLostMessageInfo", item: &link.MQTTMessageLostItem{Topic: "topic", MessageLen: 5},
		other: &link.MQTTMessageItem{}, constIn: true,
		call: func(h *harness, handle uint32, p mem.Addr) abi.Status {
			return h.k.MQTTReceiveLostMessageInfo(handle, p)
		},
		good: lostWith(func(*abi.MQTTLostMessageInfo) {}),
		late: map[string]func(h *harness) mem.Addr{
			"reason":       lostWith(func(l *abi.MQTTLostMessageInfo) { l.Reason = flashBase }),
			"topic.data":   lostWith(func(l *abi.MQTTLostMessageInfo) { l.Topic.Data = bad }),
			"topic.length": lostWith(func(l *abi.MQTTLostMessageInfo) { l.Topic.Length = 0 }),
			"message_len":  lostWith(func(l *abi.MQTTLostMessageInfo) { l.MessageLen = flashBase }),
		},
		small: lostWith(func(l *abi.MQTTLostMessageInfo) { l.Topic.Size = 4 }),
	},
}

func TestMQTTReadStatuses(t *testing.T) {
	for _, rc := range readCalls {
		t.Run(rc.name, func(t *testing.T) {
			h, lm := newLyingHarness(t)
			c, nw := h.ready()
			httpCh := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
			ch := h.mqttConnected(c, nw, 1024, 1024, 2)
			wantNext := func(what string, want abi.MQTTReadableDataType) {
				t.Helper()
				if got := h.nextType(ch); got != want {
					t.Fatalf("%s: next is %v, want %v", what, got, want)
				}
			}
			h.cloud.item(t, ch.handle, rc.item)
			kind := h.nextType(ch)

			// PARAMETERFAULT: the structure itself.
			bads := badWritePtrs
			if rc.constIn {
				bads = badReadPtrs
			}
			for _, b := range bads {
				wantStatus(t, "structure "+b.name, rc.call(h, ch.handle, b.addr), abi.StatusParameterFault)
			}
			wantStatus(t, "bad structure, bad handle", rc.call(h, 0, 0), abi.StatusParameterFault)
			// LATEFAULT: an output inside it; nothing consumed.
			for name, p := range rc.late {
				wantStatus(t, "output "+name, rc.call(h, ch.handle, p(h)), abi.StatusLateFault)
				wantStatus(t, "output "+name+", handle 0 (LATEFAULT first)", rc.call(h, 0, p(h)), abi.StatusLateFault)
			}
			if len(rc.late) == 0 {
				// Outputs written by value: LATEFAULT when the memory stops
				// being writable between the check and the write.
				p := h.alloc(16, 8)
				lm.lie(p, true)
				wantStatus(t, "output changed in the call", rc.call(h, ch.handle, p), abi.StatusLateFault)
			}
			wantNext("after LATEFAULT", kind)
			// INVALIDHANDLE.
			for name, handle := range map[string]uint32{"0": 0, "random": 0x1234, "HTTP channel": httpCh.handle} {
				wantStatus(t, "handle "+name, rc.call(h, handle, rc.good(h)), abi.StatusInvalidHandle)
			}
			// INVALIDBUFFERSIZE: nothing consumed.
			if rc.small != nil {
				wantStatus(t, "buffer too small", rc.call(h, ch.handle, rc.small(h)), abi.StatusInvalidBufferSize)
				wantNext("after INVALIDBUFFERSIZE", kind)
			}
			// OKAY consumes it; then nothing to read: PARAMETERFAULT.
			wantStatus(t, "read", h.call(rc.name, uint64(ch.handle), uint64(rc.good(h))), abi.StatusOkay)
			wantNext("after the read", abi.MQTTReadableDataTypeNone)
			wantStatus(t, "nothing to read", rc.call(h, ch.handle, rc.good(h)), abi.StatusParameterFault)
			// Another kind next: PARAMETERFAULT, nothing consumed.
			h.cloud.item(t, ch.handle, rc.other)
			otherKind := h.nextType(ch)
			wantStatus(t, "another kind next", rc.call(h, ch.handle, rc.good(h)), abi.StatusParameterFault)
			wantNext("after the wrong read", otherKind)
			// Readable after the channel is closed; then CHANNELCLOSED.
			h.cloud.item(t, ch.handle, rc.item)
			h.serverClose(c, ch)
			for _, other := range readCalls {
				if other.item.Kind() == rc.other.Kind() {
					wantStatus(t, "the other item, after the close", other.call(h, ch.handle, other.good(h)), abi.StatusOkay)
				}
			}
			if rc.small != nil {
				wantStatus(t, "closed, buffer too small", rc.call(h, ch.handle, rc.small(h)), abi.StatusInvalidBufferSize)
			}
			wantStatus(t, "read after the close", rc.call(h, ch.handle, rc.good(h)), abi.StatusOkay)
			wantStatus(t, "closed and empty", rc.call(h, ch.handle, rc.good(h)), abi.StatusChannelClosed)
			if rc.small != nil {
				wantStatus(t, "closed and empty, buffer too small (CHANNELCLOSED first)", rc.call(h, ch.handle, rc.small(h)), abi.StatusChannelClosed)
			}
		})
	}
}
