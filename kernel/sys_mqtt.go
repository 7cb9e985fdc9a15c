package kernel

import (
	"bytes"
	"math"
	"unicode/utf8"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// MQTT channels (seed 004). Requests are encoded into the send ring in the
// layouts of link/mqtt_doc.go and relayed to the cloud, which holds the
// broker session; readable items (responses, messages, lost-message
// reports) arrive in the receive ring and are read in place, oldest first.
// The kernel answers some requests itself, with a response item it queues
// locally among the others in arrival order:
//
//   - requests before a completed connect, after a failed one, and after a
//     disconnect was requested or the broker disconnected: NOTCONNECTED
//     (spec/abi.md lists no such MvStatus for these calls: the guide's
//     MvMqttRequestState NOTCONNECTED is the answer);
//   - parameters the broker would take as a protocol error, costing the
//     connection — QoS 2 (seed 004: not supported), a retain-handling option
//     over 2, an empty, non-UTF-8 or over-long topic, wildcards in a publish
//     topic, an unknown protocol version, a keepalive over 65535 s — and a
//     request larger than the channel's send buffer (it could never be
//     sent): INVALIDPARAMETERS. Parameters are checked before the session.
//
// When the channel loses its connection (link lost, cloud CLOSE, a
// malformed item) every request the cloud has not answered completes as
// NOTCONNECTED, in the order the requests were made, before
// CHANNELNOTCONNECTED is posted.
//
// A request stays in flight until the application has read its response:
// one subscribe or unsubscribe at a time, at most maxMQTTPublishes
// publishes (RATELIMITED beyond), one disconnect (a second while one is in
// flight is merged into it). Publish, subscribe and unsubscribe requests
// that do not fit the send ring's free space now are RATELIMITED too (the
// space returns as the cloud credits it); a disconnect that does not fit
// waits for the space, since spec/abi.md gives mvMqttRequestDisconnect no
// such status.
//
// Reads. A read call whose kind is not the oldest item's, or with nothing
// to read on a connected channel, fails without consuming anything: with
// PARAMETERFAULT, because spec/abi.md lists no WRONGDATAREQUESTED for the
// read calls and PARAMETERFAULT is the one listed status that means "an
// argument is wrong" (the structure given is for another kind of data).
// CHANNELCLOSED means the channel has lost its connection and nothing is
// left to read: items already received stay readable after a
// disconnection. Outputs a read call writes are checked before it has an
// effect; a nested output pointer that is not writable is LATEFAULT and the
// item stays unread.
//
// A LATEFAULT of a request (a bad pointer inside the request, found while
// decoding it, before anything is sent) leaves the channel unusable for
// further requests and acknowledgements, which answer CHANNELCLOSED, as an
// HTTP channel's does and as Microvisor documents for these calls; reads
// go on.

// Limits of MQTT channels.
const (
	maxMQTTTopics    = abi.MaxMQTTTopics // spec/abi.md: topics per subscribe / unsubscribe
	maxMQTTCerts     = abi.MaxMQTTCerts  // spec/abi.md: certificates per chain (MQTT)
	maxMQTTPublishes = 16                // mvnet: publishes in flight per channel
	maxMQTTString    = math.MaxUint16
	maxMQTTKeepalive = math.MaxUint16 // seconds: a u16 in MQTT's CONNECT
	maxMQTTQoS       = 1              // seed 004: QoS 2 is not supported
	maxMQTTRH        = 2              // MQTT 5 retain handling 0–2
)

// Sizes of the response structures written by value (the same in both
// ABIs, spec/abi.md).
const (
	mqttConnectResponseSize    = 8
	mqttPublishResponseSize    = 12
	mqttDisconnectResponseSize = 8
)

// mqttSession is where the broker session stands, as the kernel knows it.
type mqttSession uint8

const (
	mqttIdle       mqttSession = iota // no connect yet
	mqttConnecting                    // connect sent, no response yet
	mqttConnected                     // connect completed with reason 0
	mqttEnded                         // connect failed, disconnect requested or reported
)

// mqttChan is the MQTT state of a channel, guarded by the kernel's mu.
type mqttChan struct {
	session     mqttSession
	connectSent bool // one connect per channel (REQUESTALREADYSENT)

	// Receive ring: bytes [rxRead, parsed) are whole items, queued in
	// items; [parsed, rxWrite) is the start of one still arriving.
	parsed uint64
	items  []mqttItem // readable items, oldest first, from items[head]
	head   int

	waiting   []mqttWait // requests the cloud has not answered, in order
	subOut    bool       // a subscribe or unsubscribe is in flight
	pubOut    int        // publishes in flight
	discOut   bool       // a disconnect is in flight
	discDefer bool       // the disconnect waits for send-ring space

	buf []byte // reused to copy publish requests in
}

// mqttItem is one readable item: in the receive ring at start, or local
// (the kernel's own answer, not in the ring).
type mqttItem struct {
	x     link.MQTTItemIndex // kind and fields; spans from start
	start uint64             // ring items: offset in the receive stream
	local bool
}

// mqttWait is a request sent to the cloud and not yet answered.
type mqttWait struct {
	kind   uint8 // the request's kind, link.MQTTConnect …
	corr   uint32
	topics int // subscribe and unsubscribe: how many topics
}

// readableType maps an item kind to MvMqttReadableDataType.
func readableType(kind uint8) abi.MQTTReadableDataType {
	switch kind {
	case link.MQTTMessage:
		return abi.MQTTReadableDataTypeMessageReceived
	case link.MQTTMessageLost:
		return abi.MQTTReadableDataTypeMessageLost
	case link.MQTTConnectResponse:
		return abi.MQTTReadableDataTypeConnectResponse
	case link.MQTTSubscribeResponse:
		return abi.MQTTReadableDataTypeSubscribeResponse
	case link.MQTTUnsubscribeResponse:
		return abi.MQTTReadableDataTypeUnsubscribeResponse
	case link.MQTTPublishResponse:
		return abi.MQTTReadableDataTypePublishResponse
	case link.MQTTDisconnectResponse:
		return abi.MQTTReadableDataTypeDisconnectResponse
	}
	return abi.MQTTReadableDataTypeNone
}

// responseKind is the item kind that answers request kind k.
func responseKind(k uint8) uint8 {
	switch k {
	case link.MQTTConnect:
		return link.MQTTConnectResponse
	case link.MQTTSubscribe:
		return link.MQTTSubscribeResponse
	case link.MQTTUnsubscribe:
		return link.MQTTUnsubscribeResponse
	case link.MQTTPublish:
		return link.MQTTPublishResponse
	case link.MQTTDisconnect:
		return link.MQTTDisconnectResponse
	}
	return 0
}

// ---- validation ----

func validMQTTString(b []byte) bool {
	return len(b) <= maxMQTTString && utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}

func validTopicFilter(b []byte) bool { return len(b) > 0 && validMQTTString(b) }

func validTopicName(b []byte) bool {
	return validTopicFilter(b) && bytes.IndexAny(b, "+#") < 0
}

// mqttOutcome is what becomes of an accepted request.
type mqttOutcome uint8

const (
	mqttSend         mqttOutcome = iota // encoded into the send ring
	mqttInvalid                         // answered INVALIDPARAMETERS by the kernel
	mqttNotConnected                    // answered NOTCONNECTED by the kernel
)

// sessionOutcome is the outcome of a request whose parameters are valid.
func (mq *mqttChan) sessionOutcome() mqttOutcome {
	if mq.session != mqttConnected {
		return mqttNotConnected
	}
	return mqttSend
}

// txFree is the send ring's free space.
func txFree(ch *channel) uint64 { return uint64(ch.txLen) - (ch.txWrite - ch.txAcked) }

// copyIn copies an application string.
func (k *Kernel) copyIn(s abi.SizedString) ([]byte, error) {
	b := make([]byte, s.Length)
	return b, k.mem.CopyIn(b, s.Data)
}

// mqttChannelLocked finds the MQTT channel h for a request, after a late
// fault has been reported: INVALIDHANDLE, then CHANNELCLOSED (disconnected
// or made unusable by a LATEFAULT).
func (k *Kernel) mqttChannelLocked(h uint32, late bool) (*channel, abi.Status) {
	ch, ok := k.channelOfType(h, abi.ChannelTypeMQTT)
	if late {
		if ok {
			ch.unusable = true
		}
		return nil, abi.StatusLateFault
	}
	if !ok {
		return nil, abi.StatusInvalidHandle
	}
	if !ch.connected() || ch.unusable {
		return nil, abi.StatusChannelClosed
	}
	return ch, abi.StatusOkay
}

// sendRequestLocked encodes r into the send ring and remembers it as
// waiting for the cloud's answer.
func (k *Kernel) sendRequestLocked(ch *channel, r link.MQTTRequest, corr uint32) {
	enc := r.Append(k.scratchLocked(0))
	k.scratch = enc[:0]
	k.txAppendLocked(ch, enc)
	if rk := responseKind(r.Kind()); rk != 0 {
		w := mqttWait{kind: r.Kind(), corr: corr}
		switch r := r.(type) {
		case *link.MQTTSubscribeRequest:
			w.topics = len(r.Subscriptions)
		case *link.MQTTUnsubscribeRequest:
			w.topics = len(r.Topics)
		}
		ch.mqtt.waiting = append(ch.mqtt.waiting, w)
	}
}

// answerLocked queues the kernel's own response to a request of kind k.
func (k *Kernel) answerLocked(ch *channel, kind uint8, st abi.MQTTRequestState, corr uint32) {
	x := link.MQTTItemIndex{Kind: responseKind(kind), RequestState: uint32(st), CorrelationID: corr}
	k.queueItemLocked(ch, mqttItem{x: x, local: true})
}

// queueItemLocked makes an item readable: one CHANNELDATAREADABLE per item.
func (k *Kernel) queueItemLocked(ch *channel, it mqttItem) {
	ch.mqtt.push(it)
	k.postLocked(ch.nh, ch.tag, abi.EventTypeChannelDataReadable)
}

// finishLocked settles an accepted request whose outcome is not mqttSend.
func (k *Kernel) finishLocked(ch *channel, kind uint8, out mqttOutcome, corr uint32) {
	st := abi.MQTTRequestStateNotConnected
	if out == mqttInvalid {
		st = abi.MQTTRequestStateInvalidParameters
	}
	k.answerLocked(ch, kind, st, corr)
}

// ---- connect ----

// mqttConnectArgs is everything mvMqttRequestConnect reads from
// application memory before it takes the kernel's lock.
type mqttConnectArgs struct {
	r       abi.MQTTConnectRequest
	tls     abi.TLSCredentials
	hasTLS  bool
	will    abi.MQTTWill
	hasWill bool
	ca, cl  []abi.SizedString // nil when over the limit (not read)
}

// readConnectNested reads and checks everything the request points to.
// It reports whether a nested pointer is bad.
func (k *Kernel) readConnectNested(a *mqttConnectArgs, arr *[2 * maxMQTTCerts]abi.SizedString) (late bool) {
	r := &a.r
	if !k.checkR(r.Host.Data, uint64(r.Host.Length)) || !k.checkR(r.ClientID.Data, uint64(r.ClientID.Length)) {
		return true
	}
	if up := r.Authentication.UsernamePassword; r.Authentication.Method == abi.MQTTAuthenticationMethodUsernamePassword &&
		(!k.checkR(up.Username.Data, uint64(up.Username.Length)) || !k.checkR(up.Password.Data, uint64(up.Password.Length))) {
		return true
	}
	if r.TLSCredentials != 0 {
		var err error
		if a.tls, err = k.abi.ReadTLSCredentials(k.mem, r.TLSCredentials); err != nil {
			return true
		}
		a.hasTLS = true
		chain := func(c abi.TLSCertificateChain, dst []abi.SizedString) ([]abi.SizedString, bool) {
			if c.NumCerts == 0 || c.NumCerts > maxMQTTCerts {
				return nil, true
			}
			certs, err := k.abi.ReadSizedStrings(k.mem, c.Certs, c.NumCerts, dst)
			if err != nil {
				return nil, false
			}
			for _, s := range certs {
				if !k.checkR(s.Data, uint64(s.Length)) {
					return nil, false
				}
			}
			return certs, true
		}
		var ok bool
		if a.ca, ok = chain(a.tls.CACert, arr[:0]); !ok {
			return true
		}
		if a.cl, ok = chain(a.tls.ClientCert.Chain, arr[maxMQTTCerts:maxMQTTCerts]); !ok {
			return true
		}
		if key := a.tls.ClientCert.Key; !k.checkR(key.Data, uint64(key.Length)) {
			return true
		}
	}
	if r.Will != 0 {
		var err error
		if a.will, err = k.abi.ReadMQTTWill(k.mem, r.Will); err != nil {
			return true
		}
		a.hasWill = true
		if !k.checkR(a.will.Topic.Data, uint64(a.will.Topic.Length)) || !k.checkR(a.will.Payload.Data, uint64(a.will.Payload.Length)) {
			return true
		}
	}
	return false
}

// MQTTRequestConnect is mvMqttRequestConnect. spec/abi.md order:
// PARAMETERFAULT (the request structure); LATEFAULT (a pointer inside it:
// strings, TLS credentials and their certificate arrays, will);
// INVALIDHANDLE; CHANNELCLOSED; REQUESTALREADYSENT (one connect per channel,
// whatever its outcome); INVALIDAUTHENTICATION (username/password together
// with a client certificate, or an unknown method); TOOMANYELEMENTS (more
// than 8 certificates in a chain); REQUIREDELEMENTMISSING (no host; no
// client ID without clean start — 3.1.1 requires clean start for an empty
// one, and a persistent session needs an ID; client certificates without a
// key; a will without topic or payload). An accepted connect is answered by
// a CONNECTRESPONSE: the cloud's, or the kernel's INVALIDPARAMETERS (see
// the top of this file; this includes a request larger than the send
// buffer).
func (k *Kernel) MQTTRequestConnect(h uint32, reqPtr mem.Addr) abi.Status {
	var a mqttConnectArgs
	var err error
	if a.r, err = k.abi.ReadMQTTConnectRequest(k.mem, reqPtr); err != nil {
		return abi.StatusParameterFault
	}
	var arr [2 * maxMQTTCerts]abi.SizedString
	late := k.readConnectNested(&a, &arr)

	k.mu.Lock()
	defer k.mu.Unlock()
	ch, st := k.mqttChannelLocked(h, late)
	if st != abi.StatusOkay {
		return st
	}
	mq := ch.mqtt
	if mq.connectSent {
		return abi.StatusRequestAlreadySent
	}
	r := &a.r
	method := r.Authentication.Method
	clientCert := a.hasTLS && a.tls.ClientCert.Chain.NumCerts > 0
	if method > abi.MQTTAuthenticationMethodUsernamePassword ||
		method == abi.MQTTAuthenticationMethodUsernamePassword && clientCert {
		return abi.StatusInvalidAuthentication
	}
	if a.hasTLS && (a.tls.CACert.NumCerts > maxMQTTCerts || a.tls.ClientCert.Chain.NumCerts > maxMQTTCerts) {
		return abi.StatusTooManyElements
	}
	if r.Host.Length == 0 || r.ClientID.Length == 0 && r.CleanStart == 0 ||
		clientCert && a.tls.ClientCert.Key.Length == 0 ||
		a.hasWill && (a.will.Topic.Length == 0 || a.will.Payload.Length == 0) {
		return abi.StatusRequiredElementMissing
	}
	req, out, err := k.connectRequest(&a, txFree(ch))
	if err != nil {
		ch.unusable = true // the memory changed under us since the checks
		return abi.StatusLateFault
	}
	mq.connectSent = true
	if out != mqttSend {
		mq.session = mqttEnded
		k.finishLocked(ch, link.MQTTConnect, out, 0)
		return abi.StatusOkay
	}
	mq.session = mqttConnecting
	k.sendRequestLocked(ch, req, 0)
	return abi.StatusOkay
}

// connectRequest copies the connect request in and decides its outcome:
// mqttSend or mqttInvalid. free is the send ring's free space.
func (k *Kernel) connectRequest(a *mqttConnectArgs, free uint64) (*link.MQTTConnectRequest, mqttOutcome, error) {
	r := &a.r
	if r.ProtocolVersion > abi.MQTTProtocolVersionV5 || r.Keepalive > maxMQTTKeepalive ||
		a.hasWill && a.will.QoS > maxMQTTQoS {
		return nil, mqttInvalid, nil
	}
	// The size first, so that nothing huge is copied only to be refused.
	up := r.Authentication.UsernamePassword
	size := uint64(link.MQTTMessageFixedLen+6+4+4+1+4+4+1+1) + uint64(r.Host.Length) + uint64(r.ClientID.Length)
	if r.Authentication.Method == abi.MQTTAuthenticationMethodUsernamePassword {
		size += uint64(up.Username.Length) + uint64(up.Password.Length)
	}
	if a.hasWill {
		size += 4 + 4 + 2 + uint64(a.will.Topic.Length) + uint64(a.will.Payload.Length)
	}
	if a.hasTLS {
		size += 2 + 4 + uint64(a.tls.ClientCert.Key.Length)
		for _, chain := range [2][]abi.SizedString{a.ca, a.cl} {
			for _, c := range chain {
				size += 4 + uint64(c.Length)
			}
		}
	}
	if size > free {
		return nil, mqttInvalid, nil
	}
	req := &link.MQTTConnectRequest{
		Protocol: uint8(r.ProtocolVersion), CleanStart: r.CleanStart != 0,
		Keepalive: uint16(r.Keepalive), Port: r.Port,
	}
	var strs [5][]byte
	srcs := [5]abi.SizedString{r.Host, r.ClientID}
	if r.Authentication.Method == abi.MQTTAuthenticationMethodUsernamePassword {
		req.Auth = 1
		srcs[2], srcs[3] = up.Username, up.Password
	}
	if a.hasWill {
		srcs[4] = a.will.Topic
	}
	for i, s := range srcs {
		var err error
		if strs[i], err = k.copyIn(s); err != nil {
			return nil, 0, err
		}
	}
	req.Host, req.ClientID, req.Username, req.Password = string(strs[0]), string(strs[1]), string(strs[2]), nilIfEmpty(strs[3])
	if !validMQTTString(strs[1]) || !validMQTTString(strs[2]) || len(strs[3]) > maxMQTTString {
		return nil, mqttInvalid, nil
	}
	if a.hasWill {
		payload, err := k.copyIn(a.will.Payload)
		if err != nil {
			return nil, 0, err
		}
		if !validTopicName(strs[4]) || len(payload) > maxMQTTString {
			return nil, mqttInvalid, nil
		}
		req.Will = &link.MQTTWill{Topic: string(strs[4]), Payload: payload, QoS: uint8(a.will.QoS), Retain: a.will.Retain != 0}
	}
	if a.hasTLS {
		t := &link.MQTTTLS{}
		var err error
		if t.CACerts, err = k.copyAll(a.ca); err != nil {
			return nil, 0, err
		}
		if t.ClientCerts, err = k.copyAll(a.cl); err != nil {
			return nil, 0, err
		}
		if t.Key, err = k.copyIn(a.tls.ClientCert.Key); err != nil {
			return nil, 0, err
		}
		t.Key = nilIfEmpty(t.Key)
		req.TLS = t
	}
	return req, mqttSend, nil
}

func (k *Kernel) copyAll(ss []abi.SizedString) ([][]byte, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	out := make([][]byte, len(ss))
	for i, s := range ss {
		var err error
		if out[i], err = k.copyIn(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ---- subscribe, unsubscribe ----

// MQTTRequestSubscribe is mvMqttRequestSubscribe. spec/abi.md order:
// PARAMETERFAULT (the request structure); LATEFAULT (the subscription
// array or a topic); INVALIDHANDLE; CHANNELCLOSED; RATELIMITED (a subscribe
// or unsubscribe in flight, or no room in the send ring now);
// TOOMANYELEMENTS (more than 8 topics). An accepted request is answered by
// a SUBSCRIBERESPONSE: the cloud's, or the kernel's INVALIDPARAMETERS (no
// topics, QoS 2, rh over 2, an invalid topic filter, too large for the send
// buffer) or NOTCONNECTED, with no reason codes. nl and rap are flags: any
// non-zero value is 1.
func (k *Kernel) MQTTRequestSubscribe(h uint32, reqPtr mem.Addr) abi.Status {
	r, err := k.abi.ReadMQTTSubscribeRequest(k.mem, reqPtr)
	if err != nil {
		return abi.StatusParameterFault
	}
	var arr [maxMQTTTopics]abi.MQTTSubscription
	var subs []abi.MQTTSubscription
	late := false
	if r.NumSubscriptions <= maxMQTTTopics {
		if subs, err = k.abi.ReadMQTTSubscriptions(k.mem, r.Subscriptions, r.NumSubscriptions, arr[:0]); err != nil {
			late = true
		}
		for _, s := range subs {
			late = late || !k.checkR(s.Topic.Data, uint64(s.Topic.Length))
		}
	}
	return k.requestSubscription(h, late, r.NumSubscriptions > maxMQTTTopics, link.MQTTSubscribe, r.CorrelationID,
		func(ch *channel) (link.MQTTRequest, mqttOutcome, error) {
			return k.subscribeRequest(ch, r.CorrelationID, subs)
		})
}

// requestSubscription is the common part of MQTTRequestSubscribe and
// MQTTRequestUnsubscribe once their topics are read, late telling whether
// that faulted and tooMany whether there are more than maxMQTTTopics. In
// spec/abi.md order it answers mqttChannelLocked's statuses; LATEFAULT when
// build faults copying a topic (the channel becomes unusable); RATELIMITED
// (a subscribe or unsubscribe in flight, or no room in the send ring now);
// TOOMANYELEMENTS. Otherwise the request of kind is accepted: sent when
// build's outcome is mqttSend, else answered by the kernel. build is not
// called when a request is in flight or there are too many topics.
func (k *Kernel) requestSubscription(h uint32, late, tooMany bool, kind uint8, corr uint32,
	build func(*channel) (link.MQTTRequest, mqttOutcome, error)) abi.Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, st := k.mqttChannelLocked(h, late)
	if st != abi.StatusOkay {
		return st
	}
	mq := ch.mqtt
	var req link.MQTTRequest
	out := mqttInvalid
	if !mq.subOut && !tooMany {
		var err error
		if req, out, err = build(ch); err != nil {
			ch.unusable = true
			return abi.StatusLateFault
		}
	}
	if mq.subOut || out == mqttSend && uint64(req.Size()) > txFree(ch) {
		return abi.StatusRateLimited
	}
	if tooMany {
		return abi.StatusTooManyElements
	}
	mq.subOut = true
	if out != mqttSend {
		k.finishLocked(ch, kind, out, corr)
		return abi.StatusOkay
	}
	k.sendRequestLocked(ch, req, corr)
	return abi.StatusOkay
}

func (k *Kernel) subscribeRequest(ch *channel, corr uint32, subs []abi.MQTTSubscription) (*link.MQTTSubscribeRequest, mqttOutcome, error) {
	size := uint64(link.MQTTMessageFixedLen + 5)
	for _, s := range subs {
		if s.DesiredQoS > maxMQTTQoS || s.RH > maxMQTTRH {
			return nil, mqttInvalid, nil
		}
		size += 4 + 4 + uint64(s.Topic.Length)
	}
	if len(subs) == 0 || size > uint64(ch.txLen) {
		return nil, mqttInvalid, nil
	}
	req := &link.MQTTSubscribeRequest{CorrelationID: corr, Subscriptions: make([]link.MQTTSubscription, len(subs))}
	for i, s := range subs {
		t, err := k.copyIn(s.Topic)
		if err != nil {
			return nil, 0, err
		}
		if !validTopicFilter(t) {
			return nil, mqttInvalid, nil
		}
		req.Subscriptions[i] = link.MQTTSubscription{Topic: string(t), QoS: uint8(s.DesiredQoS),
			NoLocal: s.NL != 0, RetainAsPublished: s.RAP != 0, RetainHandling: uint8(s.RH)}
	}
	return req, ch.mqtt.sessionOutcome(), nil
}

// MQTTRequestUnsubscribe is mvMqttRequestUnsubscribe. spec/abi.md order:
// PARAMETERFAULT; LATEFAULT (the topic array or a topic); INVALIDHANDLE;
// CHANNELCLOSED; RATELIMITED (a subscribe or unsubscribe in flight, or no
// room in the send ring now); TOOMANYELEMENTS (more than 8 topics). The
// kernel answers INVALIDPARAMETERS (no topics, an invalid topic filter, too
// large for the send buffer) and NOTCONNECTED itself.
func (k *Kernel) MQTTRequestUnsubscribe(h uint32, reqPtr mem.Addr) abi.Status {
	r, err := k.abi.ReadMQTTUnsubscribeRequest(k.mem, reqPtr)
	if err != nil {
		return abi.StatusParameterFault
	}
	var arr [maxMQTTTopics]abi.SizedString
	var topics []abi.SizedString
	late := false
	if r.NumTopics <= maxMQTTTopics {
		if topics, err = k.abi.ReadSizedStrings(k.mem, r.Topics, r.NumTopics, arr[:0]); err != nil {
			late = true
		}
		for _, s := range topics {
			late = late || !k.checkR(s.Data, uint64(s.Length))
		}
	}
	return k.requestSubscription(h, late, r.NumTopics > maxMQTTTopics, link.MQTTUnsubscribe, r.CorrelationID,
		func(ch *channel) (link.MQTTRequest, mqttOutcome, error) {
			return k.unsubscribeRequest(ch, r.CorrelationID, topics)
		})
}

func (k *Kernel) unsubscribeRequest(ch *channel, corr uint32, topics []abi.SizedString) (*link.MQTTUnsubscribeRequest, mqttOutcome, error) {
	size := uint64(link.MQTTMessageFixedLen + 5)
	for _, s := range topics {
		size += 4 + uint64(s.Length)
	}
	if len(topics) == 0 || size > uint64(ch.txLen) {
		return nil, mqttInvalid, nil
	}
	req := &link.MQTTUnsubscribeRequest{CorrelationID: corr, Topics: make([]string, len(topics))}
	for i, s := range topics {
		t, err := k.copyIn(s)
		if err != nil {
			return nil, 0, err
		}
		if !validTopicFilter(t) {
			return nil, mqttInvalid, nil
		}
		req.Topics[i] = string(t)
	}
	return req, ch.mqtt.sessionOutcome(), nil
}

// ---- publish, acknowledge, disconnect ----

// MQTTRequestPublish is mvMqttRequestPublish. spec/abi.md order:
// PARAMETERFAULT; LATEFAULT (topic or payload); INVALIDHANDLE;
// CHANNELCLOSED; RATELIMITED (maxMQTTPublishes publishes in flight, or no
// room in the send ring now). The kernel answers INVALIDPARAMETERS (QoS 2,
// an invalid topic name, too large for the send buffer) and NOTCONNECTED
// itself. retain: any non-zero value is 1.
func (k *Kernel) MQTTRequestPublish(h uint32, reqPtr mem.Addr) abi.Status {
	r, err := k.abi.ReadMQTTPublishRequest(k.mem, reqPtr)
	if err != nil {
		return abi.StatusParameterFault
	}
	late := !k.checkR(r.Topic.Data, uint64(r.Topic.Length)) || !k.checkR(r.Payload.Data, uint64(r.Payload.Length))

	k.mu.Lock()
	defer k.mu.Unlock()
	ch, st := k.mqttChannelLocked(h, late)
	if st != abi.StatusOkay {
		return st
	}
	mq := ch.mqtt
	if mq.pubOut >= maxMQTTPublishes {
		return abi.StatusRateLimited
	}
	req, out, err := k.publishRequest(ch, &r)
	if err != nil {
		ch.unusable = true
		return abi.StatusLateFault
	}
	if out == mqttSend && uint64(req.Size()) > txFree(ch) {
		return abi.StatusRateLimited
	}
	mq.pubOut++
	if out != mqttSend {
		k.finishLocked(ch, link.MQTTPublish, out, r.CorrelationID)
		return abi.StatusOkay
	}
	k.sendRequestLocked(ch, req, r.CorrelationID)
	return abi.StatusOkay
}

func (k *Kernel) publishRequest(ch *channel, r *abi.MQTTPublishRequest) (*link.MQTTPublishRequest, mqttOutcome, error) {
	size := uint64(link.MQTTMessageFixedLen+4+4+4+2) + uint64(r.Topic.Length) + uint64(r.Payload.Length)
	if r.DesiredQoS > maxMQTTQoS || size > uint64(ch.txLen) {
		return nil, mqttInvalid, nil
	}
	mq := ch.mqtt
	n := int(r.Topic.Length) + int(r.Payload.Length)
	if cap(mq.buf) < n {
		mq.buf = make([]byte, n)
	}
	b := mq.buf[:n]
	topic, payload := b[:r.Topic.Length], b[r.Topic.Length:]
	if err := k.mem.CopyIn(topic, r.Topic.Data); err != nil {
		return nil, 0, err
	}
	if err := k.mem.CopyIn(payload, r.Payload.Data); err != nil {
		return nil, 0, err
	}
	if !validTopicName(topic) {
		return nil, mqttInvalid, nil
	}
	// Payload aliases mq.buf: the request is encoded before the next one
	// reuses it.
	req := &link.MQTTPublishRequest{CorrelationID: r.CorrelationID, Topic: string(topic),
		Payload: nilIfEmpty(payload), QoS: uint8(r.DesiredQoS), Retain: r.Retain != 0}
	return req, mq.sessionOutcome(), nil
}

// mqttAckSize is the encoded size of an MQTTAck.
const mqttAckSize = link.MQTTMessageFixedLen + 4

// MQTTAcknowledgeMessage is mvMqttAcknowledgeMessage. spec/abi.md order:
// INVALIDHANDLE; CHANNELCLOSED; RATELIMITED (no room in the send ring for
// the acknowledgement now). The ID goes to the cloud, which sends PUBACKs
// in the order the messages arrived. An acknowledgement after the session
// ended is dropped (OKAY): there is no broker connection to send it on, and
// the broker redelivers to a persistent session.
func (k *Kernel) MQTTAcknowledgeMessage(h uint32, correlationID uint32) abi.Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, st := k.mqttChannelLocked(h, false)
	if st != abi.StatusOkay {
		return st
	}
	if ch.mqtt.session != mqttConnected {
		return abi.StatusOkay
	}
	if txFree(ch) < mqttAckSize {
		return abi.StatusRateLimited
	}
	k.sendRequestLocked(ch, &link.MQTTAckRequest{MessageID: correlationID}, 0)
	return abi.StatusOkay
}

// MQTTRequestDisconnect is mvMqttRequestDisconnect. spec/abi.md order:
// INVALIDHANDLE; CHANNELCLOSED. A DISCONNECTRESPONSE answers it: the
// cloud's, or the kernel's NOTCONNECTED when the session is not connected.
// Requests made after it answer NOTCONNECTED. A disconnect while another is
// in flight is merged into it (one response); one that finds the send ring
// full is sent when the cloud returns the space.
func (k *Kernel) MQTTRequestDisconnect(h uint32) abi.Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, st := k.mqttChannelLocked(h, false)
	if st != abi.StatusOkay {
		return st
	}
	mq := ch.mqtt
	if mq.discOut {
		return abi.StatusOkay
	}
	mq.discOut = true
	if mq.session != mqttConnected {
		k.answerLocked(ch, link.MQTTDisconnect, abi.MQTTRequestStateNotConnected, 0)
		return abi.StatusOkay
	}
	mq.session = mqttEnded
	if txFree(ch) < link.MQTTMessageFixedLen {
		mq.discDefer = true
		mq.waiting = append(mq.waiting, mqttWait{kind: link.MQTTDisconnect})
		return abi.StatusOkay
	}
	k.sendRequestLocked(ch, &link.MQTTDisconnectRequest{}, 0)
	return abi.StatusOkay
}

// mqttCreditLocked sends a deferred disconnect once it fits.
func (k *Kernel) mqttCreditLocked(ch *channel) {
	mq := ch.mqtt
	if !mq.discDefer || txFree(ch) < link.MQTTMessageFixedLen {
		return
	}
	mq.discDefer = false
	enc := (&link.MQTTDisconnectRequest{}).Append(k.scratchLocked(0))
	k.scratch = enc[:0]
	k.txAppendLocked(ch, enc)
}
