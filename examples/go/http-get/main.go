// Command http-get is the smallest Go program using mvnet's device API: it
// starts an embedded cloud, boots an emulated device and fetches one HTTPS
// URL the way a Microvisor application does (notification centre, network,
// HTTP channel, request, interrupt, read, close).
//
//	go run ./examples/go/http-get https://example.com/
//
// The embedded cloud uses the system's trusted roots and refuses private
// and loopback addresses; see `mvnet demo --help` for a local server.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: http-get https://host/path")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "http-get:", err)
		os.Exit(1)
	}
}

func run(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	srv, err := cloud.New(cloud.Options{})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())

	d, err := device.New(device.Options{Dial: srv.Dial})
	if err != nil {
		return err
	}
	defer d.Close()

	n, err := d.Connect(ctx, 51) // TIM8_BRK_IRQn
	if err != nil {
		return err
	}
	defer d.Release(n)

	resp, err := d.HTTP(ctx, n, device.HTTPRequest{Method: "GET", URL: url, TimeoutMS: 10000}, 8192, 1024)
	if err != nil {
		return err
	}
	fmt.Printf("%s, HTTP %d\n", resp.Result, resp.StatusCode)
	for _, h := range resp.Headers {
		fmt.Println(h)
	}
	fmt.Printf("\n%s\n", resp.Body)
	return nil
}
