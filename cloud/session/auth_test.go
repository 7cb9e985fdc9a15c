package session_test

import (
	"testing"

	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/link"
)

// A link authenticated as one device (Config.CertDeviceID) may say HELLO
// only as that device.
func TestHelloMustMatchCertificate(t *testing.T) {
	registered := false
	r := start(t, session.Config{
		CertDeviceID: fakedev.ID(1),
		Register: func(string, *session.Session) (func(), error) {
			registered = true
			return nil, nil
		},
	})
	r.dev.Send(link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(2)})
	wantProtocolError(t, r, "certificate is device "+fakedev.ID(1))
	if registered {
		t.Fatal("a device saying HELLO as another was registered")
	}

	r = start(t, session.Config{CertDeviceID: fakedev.ID(1)})
	r.dev.Hello(fakedev.ID(1))
}
