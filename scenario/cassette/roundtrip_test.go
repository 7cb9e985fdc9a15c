package cassette_test

import (
	"context"
	"crypto/x509"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/pki"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/scenario/cassette"
)

// work is everything the round trip's device does.
func work(t *testing.T, srv *cloud.Server, tg target, v abi.MQTTProtocolVersion) transcript {
	t.Helper()
	d, n, ctx := boot(t, srv)
	var tr transcript
	httpWork(t, d, n, ctx, tg, &tr, "/hello")
	configWork(t, d, n, ctx, &tr)
	mqttWork(t, d, n, ctx, tg, v, &tr)
	return tr
}

// TestRecordReplayRoundTrip records a device's HTTP exchanges, config and
// secret fetches and an MQTT session against real servers, stops them,
// and replays: the device sees the same statuses, headers, bodies, values
// and messages; secrets are in the cassette only when kept. The MQTT
// session is 3.1.1 in one run, 5 in the other.
func TestRecordReplayRoundTrip(t *testing.T) {
	for _, keep := range []bool{false, true} {
		name, v := "redacted-v3.1.1", abi.MQTTProtocolVersionV311
		if keep {
			name, v = "secrets-kept-v5", abi.MQTTProtocolVersionV5
		}
		t.Run(name, func(t *testing.T) {
			o := cassette.Options{KeepSecrets: keep}
			u := startUpstream(t)
			tg := u.target()
			rec := cassette.NewRecorder(o)
			srv := newCloud(t, recordOptions(u, rec))
			recorded := work(t, srv, tg, v)
			path := filepath.Join(t.TempDir(), "cassette.json")
			if err := rec.Save(path); err != nil {
				t.Fatal(err)
			}
			// No upstream any more: the servers and the recording cloud stop.
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			_ = srv.Shutdown(ctx)
			_ = u.https.HTTP.Close()
			u.broker.Stop()

			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{secret, authValue, "cookie-789", mqttPass} {
				if got := strings.Contains(string(raw), s); got != keep {
					t.Errorf("cassette contains %q: %v, want %v", s, got, keep)
				}
			}
			if !keep && !strings.Contains(string(raw), cassette.Redacted) {
				t.Errorf("redacted cassette has no %s placeholder", cassette.Redacted)
			}

			rep, err := cassette.OpenReplayer(path, o)
			if err != nil {
				t.Fatal(err)
			}
			replayed := work(t, newCloud(t, replayOptions(rep)), tg, v)
			if m := rep.Mismatches(); len(m) > 0 {
				t.Errorf("replay mismatches: %v", m)
			}
			if u := rep.Unused(); len(u) > 0 {
				t.Errorf("recorded but not asked in replay: %q", u)
			}
			want := slices.Clone(recorded)
			if !keep {
				// Replay serves the placeholder for what was redacted.
				for i := range want {
					want[i] = strings.ReplaceAll(want[i], secret, cassette.Redacted)
					want[i] = strings.ReplaceAll(want[i], "session=cookie-789", cassette.Redacted)
				}
			}
			if !slices.Equal(replayed, want) {
				t.Errorf("replayed transcript differs:\n%s\nwant:\n%s", strings.Join(replayed, "\n"), strings.Join(want, "\n"))
			}
			t.Logf("transcript:\n%s", strings.Join(replayed, "\n"))
		})
	}
}

// TestRecordReplayBrokerDrop: a broker that goes away mid-session is
// recorded (CLOSE) and replayed: the device loses the session at the same
// point in both runs.
func TestRecordReplayBrokerDrop(t *testing.T) {
	u := startUpstream(t)
	tg := u.target()
	rec := cassette.NewRecorder(cassette.Options{})
	run := func(srv *cloud.Server, drop func()) transcript {
		d, n, ctx := boot(t, srv)
		var tr transcript
		m := openMQTT(t, d, n, ctx, 0x4d5154)
		m.connect(tg.brokerPort, "cassette-drop")
		tr.add("%s", m.next())
		m.subscribe(1, "cassette/drop")
		tr.add("%s", m.next())
		drop()
		tr.add("%s", m.next())
		return tr
	}
	recorded := run(newCloud(t, recordOptions(u, rec)), u.broker.Kill)
	if want := "NOTCONNECTED"; !strings.Contains(recorded[len(recorded)-1], want) {
		t.Fatalf("after the broker was killed the device saw %q, want %s", recorded[len(recorded)-1], want)
	}
	rep := cassette.NewReplayer(rec.Cassette(), cassette.Options{})
	replayed := run(newCloud(t, replayOptions(rep)), func() {})
	if !slices.Equal(replayed, recorded) {
		t.Errorf("replayed transcript differs:\n%s\nwant:\n%s", strings.Join(replayed, "\n"), strings.Join(recorded, "\n"))
	}
	if m := rep.Mismatches(); len(m) > 0 {
		t.Errorf("replay mismatches: %v", m)
	}
}

// TestRecordReplayTLSBroker: a session with a TLS broker is recorded as
// the plaintext MQTT inside TLS and replays with the cloud's defaults (TLS,
// no extra roots): neither the broker nor its CA is needed.
func TestRecordReplayTLSBroker(t *testing.T) {
	mosquitto.Require(t)
	ca, err := pki.NewCA("cassette test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert([]string{"127.0.0.1"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	br := mosquitto.Start(t, mosquitto.Options{TLS: &mosquitto.TLS{Cert: cert, CAs: []*x509.Certificate{ca.Cert}}})
	creds := &device.MQTTTLS{CACerts: [][]byte{ca.Cert.Raw}}
	run := func(srv *cloud.Server) transcript {
		d, n, ctx := boot(t, srv)
		var tr transcript
		m := openMQTT(t, d, n, ctx, 0x4d5154)
		m.tls = creds
		m.connect(uint16(br.Port), "cassette-tls")
		tr.add("%s", m.next())
		m.subscribe(1, "cassette/tls")
		tr.add("%s", m.next())
		return tr
	}
	rec := cassette.NewRecorder(cassette.Options{})
	o := cloud.Options{HTTP: httpexec.Options{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}
	rec.Install(&o)
	recorded := run(testenv.NewCloud(t, o))
	br.Stop()
	if s := rec.Cassette().MQTT; len(s) != 1 || !s[0].TLS || len(s[0].Packets) < 4 || s[0].Packets[1].Type != "CONNACK" {
		t.Fatalf("recorded %+v, want one TLS session with its CONNACK", s)
	}
	rep := cassette.NewReplayer(rec.Cassette(), cassette.Options{})
	var ro cloud.Options // TLS by default, the system's roots only
	rep.Install(&ro)
	replayed := run(testenv.NewCloud(t, ro))
	if !slices.Equal(replayed, recorded) || !strings.Contains(recorded[1], "ReasonCodes:[1]") {
		t.Errorf("replayed:\n%s\nrecorded:\n%s", strings.Join(replayed, "\n"), strings.Join(recorded, "\n"))
	}
}
