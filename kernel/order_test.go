package kernel_test

import (
	"slices"

	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
)

// Status order. spec/abi.md lists each call's failures in the order its
// checks are made, and abi/calls.go documents the same order (Call.Statuses).
// For each call below, every rule breaks one check on an otherwise valid
// call; the test breaks each rule alone, then every pair of rules at once,
// and wants the status that comes first in abi/calls.go's order. So the
// handler, the table and the spec cannot disagree without this failing.

// orderRule breaks one check of a call: S is the call's scenario, a set of
// flags the call's run function turns into arguments and state.
type orderRule[S any] struct {
	st    abi.Status
	apply func(*S)
}

// orderCase is one call's rules, in spec order.
type orderCase[S any] struct {
	call  string
	rules []orderRule[S]
	// skip lists pairs that cannot both be observed, with the reason.
	skip map[[2]abi.Status]string
	// run builds fresh state for s, makes the call and returns its status.
	run func(h *harness, s *S) abi.Status
}

func checkOrder[S any](t *testing.T, h *harness, c orderCase[S]) {
	t.Helper()
	call, ok := abi.LookupCall(c.call)
	if !ok {
		t.Fatalf("%s is not in abi/calls.go", c.call)
	}
	pos := func(st abi.Status) int {
		i := slices.Index(call.Statuses, st)
		if i < 0 {
			t.Fatalf("%s: a rule gives %v, which abi/calls.go does not list", c.call, st)
		}
		return i
	}
	for i := 1; i < len(c.rules); i++ {
		if pos(c.rules[i-1].st) >= pos(c.rules[i].st) {
			t.Fatalf("%s: rules %v and %v are not in abi/calls.go's order %v", c.call, c.rules[i-1].st, c.rules[i].st, call.Statuses)
		}
	}
	for i, a := range c.rules {
		var s S
		a.apply(&s)
		if got := c.run(h, &s); got != a.st {
			t.Errorf("%s breaking only the %v rule: %v", c.call, a.st, got)
		}
		for _, b := range c.rules[i+1:] {
			if why, ok := c.skip[[2]abi.Status{a.st, b.st}]; ok {
				t.Logf("%s: %v with %v not checked: %s", c.call, a.st, b.st, why)
				continue
			}
			var s S
			a.apply(&s)
			b.apply(&s)
			if got := c.run(h, &s); got != a.st {
				t.Errorf("%s breaking the %v and %v rules: %v, want %v (spec order)", c.call, a.st, b.st, got, a.st)
			}
		}
	}
}

// freshChannel opens a channel of typ on a new second of the fake clock
// (spec/abi.md: at most 8 opens a second), closed by the cloud when closed
// is set; done closes it.
func (h *harness) freshChannel(c *centre, nw uint32, typ abi.ChannelType, closed bool) (ch *channel, done func()) {
	h.t.Helper()
	h.clk.advance(time.Second)
	ch = h.open(c, nw, typ, 1024, 512, 0x0D)
	if closed {
		h.cloudCloses(ch)
	}
	return ch, func() { h.closeChannel(ch); c.forget() }
}

// cloudCloses has the cloud close ch and waits until the kernel knows.
func (h *harness) cloudCloses(ch *channel) {
	h.t.Helper()
	h.cloud.send(h.t, link.Frame{Type: link.FrameClose, Chan: ch.handle, Reason: uint8(abi.ClosureReasonChannelClosedByServer)})
	h.cloud.sync(h.t)
}

type httpOrder struct{ reqBad, nestedBad, wrongHandle, oversized, tooManyHeaders, closed, alreadySent bool }

type writeOrder struct{ dataBad, wrongHandle, closed, noRoom, outBad bool }

func TestStatusOrder(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	other, _ := h.freshChannel(c, nw, abi.ChannelTypeConfigFetch, false)

	{
		checkOrder(t, h, orderCase[httpOrder]{
			call: "mvSendHttpRequest",
			rules: []orderRule[httpOrder]{
				{abi.StatusParameterFault, func(s *httpOrder) { s.reqBad = true }},
				{abi.StatusLateFault, func(s *httpOrder) { s.nestedBad = true }},
				{abi.StatusInvalidHandle, func(s *httpOrder) { s.wrongHandle = true }},
				{abi.StatusInvalidBufferSize, func(s *httpOrder) { s.oversized = true }},
				{abi.StatusTooManyElements, func(s *httpOrder) { s.tooManyHeaders = true }},
				{abi.StatusChannelClosed, func(s *httpOrder) { s.closed = true }},
				{abi.StatusRequestAlreadySent, func(s *httpOrder) { s.alreadySent = true }},
			},
			run: func(h *harness, s *httpOrder) abi.Status {
				ch, done := h.freshChannel(c, nw, abi.ChannelTypeHTTP, false)
				defer done()
				if s.alreadySent {
					wantStatus(t, "first request", h.send(ch, getReq), abi.StatusOkay)
				}
				if s.closed {
					h.cloudCloses(ch)
				}
				r := getReq
				if s.oversized {
					r.Body = make([]byte, 600) // the send ring is 512 bytes
				}
				if s.tooManyHeaders {
					r.Headers = headerList(33)
				}
				v := h.httpRequest(r)
				if s.nestedBad {
					v.Method.Data = 0x10
				}
				p := h.writeRequest(v)
				if s.reqBad {
					p = 0
				}
				hd := ch.handle
				if s.wrongHandle {
					hd = other.handle
				}
				return h.k.SendHTTPRequest(hd, p)
			},
		})
	}

	for _, name := range []string{"mvWriteChannel", "mvWriteChannelStream"} {
		{
			rules := []orderRule[writeOrder]{
				{abi.StatusParameterFault, func(s *writeOrder) { s.dataBad = true }},
				{abi.StatusInvalidHandle, func(s *writeOrder) { s.wrongHandle = true }},
				{abi.StatusChannelClosed, func(s *writeOrder) { s.closed = true }},
				{abi.StatusInvalidBufferSize, func(s *writeOrder) { s.noRoom = true }},
				{abi.StatusLateFault, func(s *writeOrder) { s.outBad = true }},
			}
			if name == "mvWriteChannelStream" {
				// Partial writes: no INVALIDBUFFERSIZE.
				rules = slices.Delete(rules, 3, 4)
			}
			checkOrder(t, h, orderCase[writeOrder]{
				call:  name,
				rules: rules,
				skip: map[[2]abi.Status]string{
					{abi.StatusInvalidBufferSize, abi.StatusLateFault}: "with nothing queued an unwritable available is PARAMETERFAULT, not LATEFAULT (seed 003; TestWriteChannelFaults)",
				},
				run: func(h *harness, s *writeOrder) abi.Status {
					ch, done := h.freshChannel(c, nw, abi.ChannelTypeOpaqueBytes, s.closed)
					defer done()
					n := 16
					if s.noRoom {
						n = 600 // the send ring is 512 bytes
					}
					data, out := h.place(make([]byte, n)), h.out(4)
					if s.dataBad {
						data = sramEnd - 8
					}
					if s.outBad {
						out = flashBase
					}
					hd := ch.handle
					if s.wrongHandle {
						hd = other.handle
					}
					if name == "mvWriteChannel" {
						return h.k.WriteChannel(hd, data, uint32(n), out)
					}
					return h.k.WriteChannelStream(hd, data, uint32(n), out)
				},
			})
		}
	}
}
