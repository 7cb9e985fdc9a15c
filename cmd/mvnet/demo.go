package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/demo"
)

func newDemoCmd() *cobra.Command {
	var (
		o       demo.Options
		caFiles []string
		allow   []string
		verbose bool
		bundle  string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a device's HTTPS request and MQTT session end to end, printing every system call",
		Long: `Run the whole Microvisor HTTP flow in one process and print a transcript.

With no flags, mvnet starts a local HTTPS server on 127.0.0.1 with a
throwaway certificate authority, an embedded cloud that trusts it, and an
emulated device that sets up notifications, requests the network, opens an
HTTP channel, sends a GET, takes the interrupt, reads the status, headers and
body, and closes everything down. Then, against an embedded MQTT broker, it
opens an MQTT channel, connects, subscribes, publishes to itself, receives
and acknowledges the message, unsubscribes and disconnects (--skip-mqtt
leaves this out).

With --url the device fetches that HTTPS URL instead, through the same
embedded cloud. The cloud refuses loopback and private addresses unless
--allow covers them, and trusts the system's roots plus any --ca-file.

With --cloud BUNDLE the device joins a running cloud ('mvnet cloud serve')
as the device of that credential bundle ('mvnet device create') instead of
starting an embedded cloud. Then --url is required and the MQTT part is left
out: the running cloud neither reaches nor trusts the demo's local servers,
and its own --allow, --resolve and --ca-file decide what the device may
reach (docs/cloud.md).`,
		Example: `  mvnet demo
  mvnet demo --url https://example.com/
  mvnet demo --cloud device.json --url https://example.com/
  mvnet demo --url https://api.local.test:8443/v1 --resolve api.local.test:8443:127.0.0.1 \
      --allow 127.0.0.0/8 --ca-file ./ca.pem --method POST --header 'Content-Type: application/json' --data '{}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.URL != "" {
				u, err := url.Parse(o.URL)
				if err != nil || u.Host == "" {
					return fmt.Errorf("--url %q is not an absolute URL", o.URL)
				}
			}
			for _, name := range []struct {
				flag string
				v    uint32
			}{{"--rx-size", o.RxSize}, {"--tx-size", o.TxSize}} {
				if name.v == 0 || name.v%abi.ChannelBufferUnit != 0 {
					return fmt.Errorf("%s %d: channel buffers must be a non-zero multiple of %d bytes", name.flag, name.v, abi.ChannelBufferUnit)
				}
			}
			if o.TimeoutMS < abi.MinHTTPTimeoutMS || o.TimeoutMS > abi.MaxHTTPTimeoutMS {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: --timeout-ms %d is outside %d–%d; the cloud will answer INVALIDTIMEOUT\n",
					o.TimeoutMS, abi.MinHTTPTimeoutMS, abi.MaxHTTPTimeoutMS)
			}
			for _, h := range o.Headers {
				if !strings.Contains(h, ":") {
					return fmt.Errorf("--header %q: want 'Name: value'", h)
				}
			}
			// Before anything starts (the demo's servers, the cloud).
			pol, err := policyOptions(allow, o.Resolve, caFiles)
			if err != nil {
				return err
			}
			o.Allow, o.RootCAs = pol.AllowPrefixes, pol.RootCAs
			if bundle != "" {
				if len(allow) > 0 || len(caFiles) > 0 || len(o.Resolve) > 0 {
					return fmt.Errorf("--cloud: --allow, --resolve and --ca-file are the running cloud's to set (mvnet cloud serve)")
				}
				if o.URL == "" {
					return fmt.Errorf("--cloud needs --url: the running cloud cannot reach the demo's local server")
				}
				b, err := device.LoadBundle(bundle)
				if err != nil {
					return fmt.Errorf("--cloud: %w", err)
				}
				if o.Dial, err = b.Dial(); err != nil {
					return fmt.Errorf("--cloud: %w", err)
				}
				o.DeviceID, o.CloudName, o.SkipMQTT = b.DeviceSid, b.CloudAddress, true
			}
			if verbose {
				o.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			return demo.Run(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.URL, "url", "", "HTTPS URL to fetch instead of the local demo server")
	f.StringVar(&o.Method, "method", "GET", "HTTP method")
	f.StringArrayVar(&o.Headers, "header", nil, "request header 'Name: value' (repeatable)")
	f.StringVar(&o.Body, "data", "", "request body")
	f.Uint32Var(&o.TimeoutMS, "timeout-ms", abi.MaxHTTPTimeoutMS,
		fmt.Sprintf("request timeout in milliseconds (Microvisor accepts %d–%d)", abi.MinHTTPTimeoutMS, abi.MaxHTTPTimeoutMS))
	f.Uint32Var(&o.RxSize, "rx-size", 4096, "HTTP channel receive buffer in bytes (multiple of 512)")
	f.Uint32Var(&o.TxSize, "tx-size", 1024, "HTTP channel send buffer in bytes (multiple of 512)")
	f.StringArrayVar(&o.Resolve, "resolve", nil, "map host:port to an address, like curl (host:port:addr; repeatable)")
	f.StringArrayVar(&caFiles, "ca-file", nil, "PEM file of extra trusted root certificates (repeatable)")
	f.StringArrayVar(&allow, "allow", nil, "allow the cloud to reach this private/loopback prefix (CIDR; repeatable)")
	f.BoolVarP(&verbose, "verbose", "v", false, "log the kernel's and the cloud's diagnostics to stderr")
	f.BoolVar(&o.SkipMQTT, "skip-mqtt", false, "leave out the MQTT part (embedded broker)")
	f.StringVar(&bundle, "cloud", "", "join the running cloud of this credential bundle (mvnet device create) instead of an embedded one")
	return cmd
}

func readPEMCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificates found", path)
	}
	return certs, nil
}
