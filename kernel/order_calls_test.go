package kernel_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// More calls checked by checkOrder (order_test.go).

type configOrder struct {
	paramsBad, keyBad, wrongHandle, oversized, closed, alreadySent, tooMany, scopeBad, storeBad, keyInvalid bool
}

// notFollowed is why a rule that needs an array's elements cannot show
// with the rule that the array is over its limit.
const notFollowed = "an array over its limit is not followed (nothing is sized by the application's count), so what only its elements show is not seen"

func TestStatusOrderConfigFetch(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	other, _ := h.freshChannel(c, nw, abi.ChannelTypeHTTP, false)
	checkOrder(t, h, orderCase[configOrder]{
		call: "mvSendConfigFetchRequest",
		rules: []orderRule[configOrder]{
			{abi.StatusParameterFault, func(s *configOrder) { s.paramsBad = true }},
			{abi.StatusLateFault, func(s *configOrder) { s.keyBad = true }},
			{abi.StatusInvalidHandle, func(s *configOrder) { s.wrongHandle = true }},
			{abi.StatusInvalidBufferSize, func(s *configOrder) { s.oversized = true }},
			{abi.StatusChannelClosed, func(s *configOrder) { s.closed = true }},
			{abi.StatusRequestAlreadySent, func(s *configOrder) { s.alreadySent = true }},
			{abi.StatusTooManyConfigKeys, func(s *configOrder) { s.tooMany = true }},
			{abi.StatusUnknownConfigScope, func(s *configOrder) { s.scopeBad = true }},
			{abi.StatusUnknownConfigStore, func(s *configOrder) { s.storeBad = true }},
			{abi.StatusInvalidConfigKey, func(s *configOrder) { s.keyInvalid = true }},
		},
		skip: map[[2]abi.Status]string{
			{abi.StatusLateFault, abi.StatusTooManyConfigKeys}:         notFollowed,
			{abi.StatusInvalidBufferSize, abi.StatusTooManyConfigKeys}: notFollowed,
		},
		run: func(h *harness, s *configOrder) abi.Status {
			ch, done := h.freshChannel(c, nw, abi.ChannelTypeConfigFetch, false)
			defer done()
			if s.alreadySent {
				wantStatus(t, "first request", h.fetch(ch, acctCfg("k")), abi.StatusOkay)
			}
			if s.closed {
				h.cloudCloses(ch)
			}
			keys := []link.ConfigKey{acctCfg("k")}
			if s.oversized {
				keys = nil
				for range 6 { // 6 × (6 + 100) + 7 > 512
					keys = append(keys, acctCfg(strings.Repeat("x", 100)))
				}
			}
			if s.tooMany {
				for len(keys) <= 16 {
					keys = append(keys, acctCfg("k"))
				}
			}
			last := &keys[len(keys)-1]
			if s.scopeBad {
				last.Scope = 2
			}
			if s.storeBad {
				last.Store = 2
			}
			if s.keyInvalid {
				last.Key = "a\nb"
			}
			p := h.configParams(keys)
			if s.keyBad {
				v, _ := abi.Device.ReadConfigKeyFetchParams(h.a, p)
				h.put32(v.KeysToFetch+8, 0x10) // the first key's data pointer
			}
			if s.paramsBad {
				p = 0
			}
			hd := ch.handle
			if s.wrongHandle {
				hd = other.handle
			}
			return h.k.SendConfigFetchRequest(hd, p)
		},
	})
	// Too many keys to fit on their fixed parts alone, the array not even
	// readable: INVALIDBUFFERSIZE comes before TOOMANYCONFIGKEYS.
	ch, _ := h.freshChannel(c, nw, abi.ChannelTypeConfigFetch, false)
	wantStatus(t, "100 keys at 0x10", h.k.SendConfigFetchRequest(ch.handle, h.configParamsRaw(abi.ConfigKeyFetchParams{NumItems: 100, KeysToFetch: 0x10})),
		abi.StatusInvalidBufferSize)
}

type openOrder struct{ paramsBad, wrongHandle, misaligned, badSize, endpoint, badType, tooMany bool }

func TestStatusOrderOpenChannel(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	checkOrder(t, h, orderCase[openOrder]{
		call: "mvOpenChannel",
		rules: []orderRule[openOrder]{
			{abi.StatusParameterFault, func(s *openOrder) { s.paramsBad = true }},
			{abi.StatusInvalidHandle, func(s *openOrder) { s.wrongHandle = true }},
			{abi.StatusInvalidBufferAlignment, func(s *openOrder) { s.misaligned = true }},
			{abi.StatusInvalidBufferSize, func(s *openOrder) { s.badSize = true }},
			{abi.StatusUnknownChannelEndpoint, func(s *openOrder) { s.endpoint = true }},
			{abi.StatusUnknownChannelType, func(s *openOrder) { s.badType = true }},
			{abi.StatusTooManyChannels, func(s *openOrder) { s.tooMany = true }},
		},
		run: func(h *harness, s *openOrder) abi.Status {
			var open []*channel
			if s.tooMany {
				for range 4 {
					ch, _ := h.freshChannel(c, nw, abi.ChannelTypeOpaqueBytes, false)
					open = append(open, ch)
				}
			}
			defer func() {
				for _, ch := range open {
					h.closeChannel(ch)
				}
				c.forget()
			}()
			h.clk.advance(time.Second)
			p := h.chanParams(c, nw, abi.ChannelTypeHTTP, 1024, 512, 0x0E)
			if s.wrongHandle {
				p.NetworkHandle = c.handle
			}
			if s.misaligned {
				p.SendBuffer += 16
			}
			if s.badSize {
				p.SendBufferLen = 496
			}
			if s.endpoint {
				p.Endpoint = h.str("x")
			}
			if s.badType {
				p.ChannelType = 9
			}
			pp := h.alloc(44, 4)
			if err := abi.Device.WriteOpenChannelParams(h.a, pp, p); err != nil {
				t.Fatal(err)
			}
			if s.paramsBad {
				pp = 0
			}
			hp := h.out(4)
			st := h.k.OpenChannel(pp, hp)
			if st == abi.StatusOkay {
				open = append(open, &channel{handle: h.u32(hp), hp: hp})
			}
			return st
		},
	})
}

type notifyOrder struct{ setupBad, badSize, inUse, badIRQ, tooMany bool }

func TestStatusOrderSetupNotifications(t *testing.T) {
	h := newHarness(t)
	first := h.newCentre(1, 4)
	checkOrder(t, h, orderCase[notifyOrder]{
		call: "mvSetupNotifications",
		rules: []orderRule[notifyOrder]{
			{abi.StatusParameterFault, func(s *notifyOrder) { s.setupBad = true }},
			{abi.StatusInvalidBufferSize, func(s *notifyOrder) { s.badSize = true }},
			{abi.StatusBufferAlreadyInUse, func(s *notifyOrder) { s.inUse = true }},
			{abi.StatusInvalidInterrupt, func(s *notifyOrder) { s.badIRQ = true }},
			{abi.StatusTooManyNotificationBuffers, func(s *notifyOrder) { s.tooMany = true }},
		},
		run: func(h *harness, s *notifyOrder) abi.Status {
			var made []*centre
			if s.tooMany {
				for irq := uint32(2); irq <= 32; irq++ { // 31 more: 32 in all
					made = append(made, h.newCentre(irq, 2))
				}
			}
			defer func() {
				for _, c := range made {
					wantStatus(t, "mvCloseNotifications", h.k.CloseNotifications(h.handleIn(c.handle)), abi.StatusOkay)
				}
			}()
			buf, size, irq := h.alloc(64, 16), uint32(64), uint32(100)
			if s.inUse {
				buf = first.buf
			}
			if s.badSize {
				size = 24
			}
			if s.badIRQ {
				irq = first.irq
			}
			sp := h.alloc(12, 4)
			if err := abi.Device.WriteNotificationSetup(h.a, sp, abi.NotificationSetup{IRQ: irq, Buffer: buf, BufferSize: size}); err != nil {
				t.Fatal(err)
			}
			if s.setupBad {
				sp = 0
			}
			hp := h.out(4)
			st := h.k.SetupNotifications(sp, hp)
			if st == abi.StatusOkay {
				made = append(made, &centre{handle: h.u32(hp)})
			}
			return st
		},
	})
}

type logOrder struct{ uninit, msgBad, noRoom, tooLong, disabled bool }

func TestStatusOrderServerLog(t *testing.T) {
	checkOrder(t, nil, orderCase[logOrder]{
		call: "mvServerLog",
		rules: []orderRule[logOrder]{
			{abi.StatusUnavailable, func(s *logOrder) { s.uninit = true }},
			{abi.StatusParameterFault, func(s *logOrder) { s.msgBad = true }},
			{abi.StatusInvalidBufferSize, func(s *logOrder) { s.noRoom = true }},
			{abi.StatusLogMessageTooLong, func(s *logOrder) { s.tooLong = true }},
			{abi.StatusLoggingDisabledByServer, func(s *logOrder) { s.disabled = true }},
		},
		run: func(_ *harness, s *logOrder) abi.Status {
			h := newHarness(t) // logging cannot be undone: a kernel each
			h.waitLink()
			size, n := uint32(1024), 8
			if s.noRoom {
				size, n = 512, 511 // 2 + 511 > 512
			}
			if s.tooLong {
				n = 513
			}
			if !s.uninit {
				wantStatus(t, "mvServerLoggingInit", h.k.ServerLoggingInit(h.alloc(uint64(size), 512), size), abi.StatusOkay)
			}
			if s.disabled {
				h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlLogging, Logging: false})
				h.cloud.sync(t)
			}
			msg := h.place(make([]byte, n))
			if s.msgBad {
				msg = mem.Addr(sramEnd - 4)
			}
			return h.k.ServerLog(msg, uint16(n))
		},
	})
}

type connectOrder struct{ reqBad, hostBad, wrongHandle, closed, alreadySent, badAuth, tooManyCerts, noHost bool }

type subscribeOrder struct{ reqBad, arrayBad, wrongHandle, closed, inFlight, tooMany bool }

func TestStatusOrderMQTTRequests(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	other, _ := h.freshChannel(c, nw, abi.ChannelTypeHTTP, false)
	mqttChannel := func(closed bool) (*channel, func()) {
		return h.freshChannel(c, nw, abi.ChannelTypeMQTT, closed)
	}
	handle := func(ch *channel, wrong bool) uint32 {
		if wrong {
			return other.handle
		}
		return ch.handle
	}
	cert := []byte("cert")
	checkOrder(t, h, orderCase[connectOrder]{
		call: "mvMqttRequestConnect",
		rules: []orderRule[connectOrder]{
			{abi.StatusParameterFault, func(s *connectOrder) { s.reqBad = true }},
			{abi.StatusLateFault, func(s *connectOrder) { s.hostBad = true }},
			{abi.StatusInvalidHandle, func(s *connectOrder) { s.wrongHandle = true }},
			{abi.StatusChannelClosed, func(s *connectOrder) { s.closed = true }},
			{abi.StatusRequestAlreadySent, func(s *connectOrder) { s.alreadySent = true }},
			{abi.StatusInvalidAuthentication, func(s *connectOrder) { s.badAuth = true }},
			{abi.StatusTooManyElements, func(s *connectOrder) { s.tooManyCerts = true }},
			{abi.StatusRequiredElementMissing, func(s *connectOrder) { s.noHost = true }},
		},
		run: func(h *harness, s *connectOrder) abi.Status {
			ch, done := mqttChannel(false)
			defer done()
			if s.alreadySent {
				wantStatus(t, "first connect", h.k.MQTTRequestConnect(ch.handle, h.writeConnect(h.connectReq("broker", "id"))), abi.StatusOkay)
			}
			if s.closed {
				h.cloudCloses(ch)
			}
			host := "broker"
			if s.noHost {
				host = ""
			}
			r := h.connectReq(host, "id")
			var ca, cl [][]byte
			var key []byte
			if s.badAuth {
				r.Authentication = abi.MQTTAuthentication{Method: abi.MQTTAuthenticationMethodUsernamePassword,
					UsernamePassword: abi.UsernamePassword{Username: h.str("u"), Password: h.str("p")}}
				cl, key = [][]byte{cert}, []byte("key")
			}
			if s.tooManyCerts {
				for range 9 {
					ca = append(ca, cert)
				}
			}
			if ca != nil || cl != nil {
				r.TLSCredentials = h.tlsCreds(ca, cl, key)
			}
			if s.hostBad {
				r.Host = abi.SizedString{Data: 0x10, Length: 6}
			}
			p := h.writeConnect(r)
			if s.reqBad {
				p = 0
			}
			return h.k.MQTTRequestConnect(handle(ch, s.wrongHandle), p)
		},
	})

	for _, name := range []string{"mvMqttRequestSubscribe", "mvMqttRequestUnsubscribe"} {
		unsub := name == "mvMqttRequestUnsubscribe"
		request := func(ch *channel, n int, arrayBad, reqBad, wrong bool) abi.Status {
			var p mem.Addr
			if unsub {
				topics := make([]string, n)
				for i := range topics {
					topics[i] = "t"
				}
				p = h.unsubReq(7, topics...)
				if arrayBad {
					r, _ := abi.Device.ReadMQTTUnsubscribeRequest(h.a, p)
					r.Topics = 0x10
					p = h.writeUnsubReq(r)
				}
			} else {
				subs := make([]abi.MQTTSubscription, n)
				for i := range subs {
					subs[i] = h.sub("t", 1)
				}
				p = h.subReq(7, subs...)
				if arrayBad {
					r, _ := abi.Device.ReadMQTTSubscribeRequest(h.a, p)
					r.Subscriptions = 0x10
					p = h.writeSubReq(r)
				}
			}
			if reqBad {
				p = 0
			}
			if unsub {
				return h.k.MQTTRequestUnsubscribe(handle(ch, wrong), p)
			}
			return h.k.MQTTRequestSubscribe(handle(ch, wrong), p)
		}
		checkOrder(t, h, orderCase[subscribeOrder]{
			call: name,
			rules: []orderRule[subscribeOrder]{
				{abi.StatusParameterFault, func(s *subscribeOrder) { s.reqBad = true }},
				{abi.StatusLateFault, func(s *subscribeOrder) { s.arrayBad = true }},
				{abi.StatusInvalidHandle, func(s *subscribeOrder) { s.wrongHandle = true }},
				{abi.StatusChannelClosed, func(s *subscribeOrder) { s.closed = true }},
				{abi.StatusRateLimited, func(s *subscribeOrder) { s.inFlight = true }},
				{abi.StatusTooManyElements, func(s *subscribeOrder) { s.tooMany = true }},
			},
			skip: map[[2]abi.Status]string{{abi.StatusLateFault, abi.StatusTooManyElements}: notFollowed},
			run: func(h *harness, s *subscribeOrder) abi.Status {
				ch, done := mqttChannel(false)
				defer done()
				if s.inFlight {
					// Before a connect the kernel answers NOTCONNECTED; the
					// request is in flight until that answer is read.
					wantStatus(t, "first "+name, request(ch, 1, false, false, false), abi.StatusOkay)
				}
				if s.closed {
					h.cloudCloses(ch)
				}
				n := 1
				if s.tooMany {
					n = 9
				}
				return request(ch, n, s.arrayBad, s.reqBad, s.wrongHandle)
			},
		})
	}
}

type readOrder struct{ outBad, wrongHandle, closed, noResponse, badIndex bool }

// The read calls: CHANNELCLOSED means closed before any response came (a
// response received stays readable after a disconnection), so the closed
// rule sends no response either.
func TestStatusOrderReadResponses(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	other, _ := h.freshChannel(c, nw, abi.ChannelTypeOpaqueBytes, false)
	rules := func(index abi.Status) []orderRule[readOrder] {
		r := []orderRule[readOrder]{
			{abi.StatusParameterFault, func(s *readOrder) { s.outBad = true }},
			{abi.StatusInvalidHandle, func(s *readOrder) { s.wrongHandle = true }},
			{abi.StatusChannelClosed, func(s *readOrder) { s.closed = true }},
			{abi.StatusResponseNotPresent, func(s *readOrder) { s.noResponse = true }},
		}
		if index != 0 {
			r = append(r, orderRule[readOrder]{index, func(s *readOrder) { s.badIndex = true }})
		}
		return r
	}
	// prepare opens a channel of typ, sends its request with send and,
	// unless s says otherwise, the response resp.
	prepare := func(s *readOrder, typ abi.ChannelType, send func(*channel) abi.Status, resp []byte) (*channel, uint32, func()) {
		ch, done := h.freshChannel(c, nw, typ, false)
		wantStatus(t, "request", send(ch), abi.StatusOkay)
		if s.closed {
			h.cloudCloses(ch)
		} else if !s.noResponse {
			h.cloud.sendData(t, ch.handle, resp)
			c.wait(abi.EventTypeChannelDataReadable, ch.tag)
		}
		hd := ch.handle
		if s.wrongHandle {
			hd = other.handle
		}
		return ch, hd, done
	}
	httpResp := link.AppendHTTPResponse(nil, &testResponse)
	sendHTTP := func(ch *channel) abi.Status { return h.send(ch, getReq) }
	out := func(s *readOrder, n uint64) mem.Addr {
		if s.outBad {
			return flashBase
		}
		return h.out(n)
	}
	checkOrder(t, h, orderCase[readOrder]{call: "mvReadHttpResponseData", rules: rules(0),
		run: func(h *harness, s *readOrder) abi.Status {
			_, hd, done := prepare(s, abi.ChannelTypeHTTP, sendHTTP, httpResp)
			defer done()
			return h.k.ReadHTTPResponseData(hd, out(s, 16))
		}})
	checkOrder(t, h, orderCase[readOrder]{call: "mvReadHttpResponseHeader", rules: rules(abi.StatusIndexInvalid),
		run: func(h *harness, s *readOrder) abi.Status {
			_, hd, done := prepare(s, abi.ChannelTypeHTTP, sendHTTP, httpResp)
			defer done()
			index := uint32(0)
			if s.badIndex {
				index = uint32(len(testResponse.Headers))
			}
			return h.k.ReadHTTPResponseHeader(hd, index, out(s, 64), 64)
		}})
	checkOrder(t, h, orderCase[readOrder]{call: "mvReadHttpResponseBody", rules: rules(abi.StatusOffsetInvalid),
		run: func(h *harness, s *readOrder) abi.Status {
			_, hd, done := prepare(s, abi.ChannelTypeHTTP, sendHTTP, httpResp)
			defer done()
			offset := uint32(0)
			if s.badIndex {
				offset = uint32(len(testResponse.Body)) + 1
			}
			return h.k.ReadHTTPResponseBody(hd, offset, out(s, 64), 64)
		}})
	cfgResp := link.AppendConfigResponse(nil, &link.ConfigResponse{Items: []link.ConfigItem{{Value: []byte("v")}}})
	sendCfg := func(ch *channel) abi.Status { return h.fetch(ch, acctCfg("k")) }
	checkOrder(t, h, orderCase[readOrder]{call: "mvReadConfigResponseItem", rules: rules(abi.StatusIndexInvalid),
		run: func(h *harness, s *readOrder) abi.Status {
			_, hd, done := prepare(s, abi.ChannelTypeConfigFetch, sendCfg, cfgResp)
			defer done()
			v := abi.ConfigResponseReadItemParams{Result: out(s, 4), Buf: abi.SizedStringBuffer{Data: h.out(16), Size: 16, Length: h.out(4)}}
			if s.badIndex {
				v.ItemIndex = 1
			}
			p := h.alloc(20, 4)
			if err := abi.Device.WriteConfigResponseReadItemParams(h.a, p, v); err != nil {
				t.Fatal(err)
			}
			return h.k.ReadConfigResponseItem(hd, p)
		}})
}

type publishOrder struct{ reqBad, topicBad, wrongHandle, closed, inFlight bool }

func TestStatusOrderMQTTPublish(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	other, _ := h.freshChannel(c, nw, abi.ChannelTypeHTTP, false)
	checkOrder(t, h, orderCase[publishOrder]{
		call: "mvMqttRequestPublish",
		rules: []orderRule[publishOrder]{
			{abi.StatusParameterFault, func(s *publishOrder) { s.reqBad = true }},
			{abi.StatusLateFault, func(s *publishOrder) { s.topicBad = true }},
			{abi.StatusInvalidHandle, func(s *publishOrder) { s.wrongHandle = true }},
			{abi.StatusChannelClosed, func(s *publishOrder) { s.closed = true }},
			{abi.StatusRateLimited, func(s *publishOrder) { s.inFlight = true }},
		},
		run: func(h *harness, s *publishOrder) abi.Status {
			ch, done := h.freshChannel(c, nw, abi.ChannelTypeMQTT, false)
			defer done()
			if s.inFlight {
				// Before a connect the kernel answers NOTCONNECTED; each
				// publish is in flight until its answer is read.
				for i := range 16 {
					wantStatus(t, "publish in flight", h.publish(ch, uint32(i), "t", []byte("p"), 0), abi.StatusOkay)
				}
			}
			if s.closed {
				h.cloudCloses(ch)
			}
			r := abi.MQTTPublishRequest{CorrelationID: 99, Topic: h.str("t"), Payload: h.str("p")}
			if s.topicBad {
				r.Topic.Data = 0x10
			}
			p := h.writePubReq(r)
			if s.reqBad {
				p = 0
			}
			hd := ch.handle
			if s.wrongHandle {
				hd = other.handle
			}
			return h.k.MQTTRequestPublish(hd, p)
		},
	})
}

type loggingInitOrder struct{ bufBad, misaligned, badSize bool }

type networkOrder struct{ paramsBad, badVersion bool }

type deviceIDOrder struct{ bufBad, badLen bool }

func TestStatusOrderSmallCalls(t *testing.T) {
	checkOrder(t, nil, orderCase[loggingInitOrder]{
		call: "mvServerLoggingInit",
		rules: []orderRule[loggingInitOrder]{
			{abi.StatusParameterFault, func(s *loggingInitOrder) { s.bufBad = true }},
			{abi.StatusInvalidBufferAlignment, func(s *loggingInitOrder) { s.misaligned = true }},
			{abi.StatusInvalidBufferSize, func(s *loggingInitOrder) { s.badSize = true }},
		},
		run: func(_ *harness, s *loggingInitOrder) abi.Status {
			h := newHarness(t, refusing) // logging is set up once: a kernel each
			buf, size := h.alloc(2048, 512), uint32(1024)
			if s.misaligned {
				buf += 16
			}
			if s.badSize {
				size = 1000
			}
			if s.bufBad {
				buf = flashBase + (buf - buf&^511) // unwritable, as aligned as asked
			}
			return h.k.ServerLoggingInit(buf, size)
		},
	})

	h := newHarness(t, refusing)
	c := h.newCentre(3, 4)
	checkOrder(t, h, orderCase[networkOrder]{
		call: "mvRequestNetwork",
		rules: []orderRule[networkOrder]{
			{abi.StatusParameterFault, func(s *networkOrder) { s.paramsBad = true }},
			{abi.StatusUnsupportedStructureVersion, func(s *networkOrder) { s.badVersion = true }},
		},
		run: func(h *harness, s *networkOrder) abi.Status {
			version := uint32(1)
			if s.badVersion {
				version = 2
			}
			out := h.out(4)
			if s.paramsBad {
				out = flashBase
			}
			st := h.requestRaw(version, c.handle, 1, out)
			if st == abi.StatusOkay {
				wantStatus(t, "mvReleaseNetwork", h.k.ReleaseNetwork(out), abi.StatusOkay)
			}
			return st
		},
	})
	checkOrder(t, h, orderCase[deviceIDOrder]{
		call: "mvGetDeviceId",
		rules: []orderRule[deviceIDOrder]{
			{abi.StatusParameterFault, func(s *deviceIDOrder) { s.bufBad = true }},
			{abi.StatusInvalidBufferSize, func(s *deviceIDOrder) { s.badLen = true }},
		},
		run: func(h *harness, s *deviceIDOrder) abi.Status {
			buf, n := h.out(40), uint32(34)
			if s.badLen {
				n = 33
			}
			if s.bufBad {
				buf = flashBase
			}
			return h.k.GetDeviceID(buf, n)
		},
	})
}
