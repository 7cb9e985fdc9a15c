package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

// TestDemoCloudUnreachablePrintsLinkError: `mvnet demo --cloud` with a
// bundle whose cloud resets every connection prints the link error in its
// transcript, once, instead of hanging at CONNECTING with nothing printed.
func TestDemoCloudUnreachablePrintsLinkError(t *testing.T) {
	dir := t.TempDir()
	ca, err := devca.Open(filepath.Join(dir, "devca"))
	if err != nil {
		t.Fatal(err)
	}
	const id = "UV000000000000000000000000000e4405"
	certPEM, keyPEM, err := ca.IssueDevice(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	addr, accepts := testenv.ResettingListener(t)
	bundle := filepath.Join(dir, "bundle.json")
	b := &device.Bundle{Version: device.BundleVersion, DeviceSid: id, CloudAddress: addr,
		CloudCA: string(ca.CertPEM()), Certificate: string(certPEM), PrivateKey: string(keyPEM)}
	if err := b.Write(bundle); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	root := newRoot()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"demo", "--cloud", bundle, "--url", "https://example.invalid/"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	want := []string{"⚠ link: cannot reach the cloud", "connection reset by peer"}
	if !poll.Wait(60*time.Second, func() bool { return containsAll(out.String(), want) }) {
		t.Fatalf("the transcript never said %q:\n%s", want, out.String())
	}
	// A repeat would come with the next dial: count after 3 failed dials
	// (the 4th dial comes after the 3rd failure was reported).
	for i := 0; i < 4; i++ {
		select {
		case <-accepts:
		case <-time.After(60 * time.Second):
			t.Fatalf("the demo dialled the cloud %d times, want 4", i)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not end after its context")
	}
	// The device redialled with backoff all along: the error is printed
	// once (test.TestLinkErrorReportedOnceThenOnChange pins the rule).
	if n := strings.Count(out.String(), "⚠ link"); n != 1 {
		t.Fatalf("the link error was printed %d times, want once:\n%s", n, out.String())
	}
}

func containsAll(s string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}
