package kernel_test

import (
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
)

// TestReadResponseAllocs: reading a response's headers and body copies
// application memory to application memory without allocating (issue 11:
// the copy's bounce buffer escaped to the heap on every call).
func TestReadResponseAllocs(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeHTTP, 1024, 512, 0xC1)
	wantStatus(t, "send", h.send(ch, getReq), abi.StatusOkay)
	h.cloud.sendData(t, ch.handle, link.AppendHTTPResponse(nil, &testResponse))
	c.wait(abi.EventTypeChannelDataReadable, 0xC1)
	hdr, body := h.out(64), h.out(100)
	allocs := testing.AllocsPerRun(100, func() {
		if st := h.k.ReadHTTPResponseHeader(ch.handle, 0, hdr, 64); st != abi.StatusOkay {
			t.Fatal(st)
		}
		if st := h.k.ReadHTTPResponseBody(ch.handle, 0, body, 100); st != abi.StatusOkay {
			t.Fatal(st)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per header and body read, want 0", allocs)
	}
}
