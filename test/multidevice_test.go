package test

import (
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/device"
)

// TestDevicesConcurrently: several devices on one cloud make requests at the
// same time; each gets the response to its own request.
func TestDevicesConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const devices, requests = 4, 5
	devs := make([]*dev, devices)
	for i := range devs {
		devs[i] = e.newDev(t)
	}
	ids := make(map[string]bool)
	for _, v := range devs {
		ids[v.d.ID()] = true
	}
	if len(ids) != devices {
		t.Fatalf("%d distinct device IDs for %d devices", len(ids), devices)
	}
	eventually(t, "the cloud lists every device", func() bool { return len(e.cloud.Devices()) == devices })

	var wg sync.WaitGroup
	for i, v := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range requests {
				want := fmt.Sprintf("%s-%d-%d", v.d.ID(), i, r)
				resp, err := v.d.HTTP(v.ctx, v.n, device.HTTPRequest{
					Method: "GET", URL: e.url("/id?v=" + url.QueryEscape(want)), TimeoutMS: 10000,
				}, 4096, 1024)
				if err != nil {
					t.Errorf("device %d request %d: %v", i, r, err)
					return
				}
				if resp.Result != abi.HTTPResultOK || resp.StatusCode != 200 {
					t.Errorf("device %d request %d: result %s status %d", i, r, resp.Result, resp.StatusCode)
					continue
				}
				if string(resp.Body) != want {
					t.Errorf("device %d request %d: body %q, want %q", i, r, resp.Body, want)
				}
				if !slices.Contains(resp.Headers, "X-Echo: "+want) {
					t.Errorf("device %d request %d: headers %q lack X-Echo: %s", i, r, resp.Headers, want)
				}
			}
		}()
	}
	wg.Wait()
}
