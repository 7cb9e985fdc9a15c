//go:build linux

package process

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/link"
)

const bundleDevice = "UV00000000000000000000000000000b1e"

// joinableCloud starts a cloud serving TLS links on 127.0.0.1 and writes a
// bundle for bundleDevice; it returns the cloud and the bundle's path.
func joinableCloud(t *testing.T) (*cloud.Server, string) {
	t.Helper()
	dir := t.TempDir()
	ca, err := devca.Open(filepath.Join(dir, "devca"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := cloud.New(cloud.Options{TLS: link.ServerTLSConfig(cert, ca.Pool())})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	certPEM, keyPEM, err := ca.IssueDevice(bundleDevice, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := &device.Bundle{Version: device.BundleVersion, DeviceSid: bundleDevice, CloudAddress: ln.Addr().String(),
		CloudCA: string(ca.CertPEM()), Certificate: string(certPEM), PrivateKey: string(keyPEM)}
	path := filepath.Join(dir, "bundle.json")
	if err := b.Write(path); err != nil {
		t.Fatal(err)
	}
	return srv, path
}

func TestBundleJoinsRunningCloud(t *testing.T) {
	srv, path := joinableCloud(t)
	p, _ := newTestProcess(t, map[string]string{EnvBundle: path})
	if p.DeviceID() != bundleDevice {
		t.Fatalf("device ID %s, want the bundle's %s", p.DeviceID(), bundleDevice)
	}
	hm := newHostMem(t)
	net := requestNetwork(t, p, hm)
	statusOut, stb := hm.alloc(4)
	deadline := time.Now().Add(10 * time.Second)
	for binary.LittleEndian.Uint32(stb) != uint32(abi.NetworkStatusConnected) {
		if time.Now().After(deadline) {
			t.Fatal("network never connected to the running cloud")
		}
		if st := call(t, p, "mvGetNetworkStatus", net, statusOut); st != abi.StatusOkay {
			t.Fatal(st)
		}
		time.Sleep(time.Millisecond)
	}
	if devs := srv.Devices(); len(devs) != 1 || devs[0].DeviceID != bundleDevice {
		t.Fatalf("the running cloud's devices: %+v", devs)
	}
}

func TestBundleConfigErrors(t *testing.T) {
	_, path := joinableCloud(t)
	for name, env := range map[string]map[string]string{
		EnvBundle:   {EnvBundle: filepath.Join(t.TempDir(), "missing.json")},
		EnvDeviceID: {EnvBundle: path, EnvDeviceID: "UV0123456789abcdef0123456789abcdef"},
		EnvAllow:    {EnvBundle: path, EnvAllow: "127.0.0.0/8"},
		EnvResolve:  {EnvBundle: path, EnvResolve: "a.test:443:127.0.0.1"},
	} {
		_, err := ConfigFromEnv(func(k string) string { return env[k] })
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != name {
			t.Errorf("%v: err = %v, want a ConfigError naming %s", env, err, name)
		}
	}
	c, err := ConfigFromEnv(func(k string) string { return map[string]string{EnvBundle: path, EnvDeviceID: bundleDevice}[k] })
	if err != nil || c.Bundle == nil || c.DeviceID != bundleDevice {
		t.Fatalf("matching MVNET_DEVICE_ID: %+v, %v", c, err)
	}
}
