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

// TestGoroutinesShareOneNetwork: several goroutines of one device use the
// same notification centre and network handle at once; each request's
// notifications reach its own waiter (8 requests in all: Microvisor allows
// 8 channel opens a second).
func TestGoroutinesShareOneNetwork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	const workers, requests = 4, 2
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range requests {
				want := fmt.Sprintf("worker-%d-%d", i, r)
				resp, err := v.d.HTTP(v.ctx, v.n, device.HTTPRequest{
					Method: "GET", URL: e.url("/id?v=" + url.QueryEscape(want)), TimeoutMS: 10000,
				}, 4096, 1024)
				if err != nil {
					t.Errorf("worker %d request %d: %v", i, r, err)
					return
				}
				if string(resp.Body) != want {
					t.Errorf("worker %d request %d: body %q, want %q", i, r, resp.Body, want)
				}
			}
		}()
	}
	wg.Wait()
}
