package device

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/devca"
)

// TestBundleAddresses: Addresses falls back to CloudAddress, and Check
// names a bad entry of CloudAddresses.
func TestBundleAddresses(t *testing.T) {
	b := &Bundle{CloudAddress: "a:1"}
	if got := b.Addresses(); len(got) != 1 || got[0] != "a:1" {
		t.Errorf("Addresses without CloudAddresses: %v", got)
	}
	b.CloudAddresses = []string{"a:1", "b:2"}
	if got := b.Addresses(); len(got) != 2 || got[1] != "b:2" {
		t.Errorf("Addresses: %v", got)
	}
	b.Version, b.DeviceSid = BundleVersion, "UV"+strings.Repeat("0", 31)+"1"
	b.CloudAddresses = []string{"a:1", "nohostport"}
	if err := b.Check(); err == nil || !strings.Contains(err.Error(), `cloud_addresses entry "nohostport"`) {
		t.Errorf("Check: %v", err)
	}
}

// TestDialMovesOn: the dial function skips an address that refuses and
// then starts with the one that worked; it fails naming every address
// when none answers.
func TestDialMovesOn(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // refuses from now on
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	accepted := make(chan string, 4)
	go func() {
		for {
			c, err := live.Accept()
			if err != nil {
				return
			}
			accepted <- c.RemoteAddr().String()
			c.Close() // the TLS handshake fails: enough to see the attempt
		}
	}()
	b := testBundle(t)
	b.CloudAddresses = []string{deadAddr, live.Addr().String()}
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = dial(ctx)
	if err == nil || !strings.Contains(err.Error(), deadAddr) || !strings.Contains(err.Error(), live.Addr().String()) {
		t.Fatalf("dial: %v (want both addresses named)", err)
	}
	select {
	case <-accepted:
	case <-ctx.Done():
		t.Fatal("the second address was not tried")
	}
}

func testBundle(t *testing.T) *Bundle {
	t.Helper()
	ca, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := "UV" + strings.Repeat("0", 31) + "1"
	cert, key, err := ca.IssueDevice(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &Bundle{Version: BundleVersion, DeviceSid: id, CloudAddress: "127.0.0.1:1",
		CloudCA: string(ca.CertPEM()), Certificate: string(cert), PrivateKey: string(key)}
}
