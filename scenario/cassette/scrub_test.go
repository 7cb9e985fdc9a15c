package cassette_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/scenario/cassette"
)

// encodePacket encodes pk with encode (one of mochi's XxxEncode methods).
func encodePacket(t *testing.T, encode func(*bytes.Buffer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSecretsScrubbed: a secret the cloud served, and the MQTT CONNECT
// user name and password, are replaced by [REDACTED] wherever the
// application sent them or the upstream echoed them — URL (plain and
// escaped), headers, bodies, topics, payloads and a broker packet's raw
// bytes — while a value shorter than MinScrubbedSecret is left alone
// elsewhere; and replay, serving [REDACTED] as the secret, matches the
// scrubbed request.
func TestSecretsScrubbed(t *testing.T) {
	const (
		tok   = "tok/en+1234" // escapes differently in a query and a path
		short = "ab"
		user  = "mqtt-user-name"
		pass  = "mqtt-pass-word"
	)
	store := memStore{
		fmt.Sprintf("%d/%d/token", abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreSecret): tok,
		fmt.Sprintf("%d/%d/pin", abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreSecret):    short,
	}
	rec := cassette.NewRecorder(cassette.Options{})
	cfg := rec.WrapConfig(store)
	ctx := devctx.With(context.Background(), "UV1")
	for _, k := range []struct {
		scope abi.ConfigKeyFetchScope
		key   string
	}{{abi.ConfigKeyFetchScopeAccount, "token"}, {abi.ConfigKeyFetchScopeDevice, "pin"}} {
		if _, ok, err := cfg.Fetch(ctx, "UV1", k.scope, abi.ConfigKeyFetchStoreSecret, k.key); err != nil || !ok {
			t.Fatalf("fetch %s: %v %v", k.key, ok, err)
		}
	}

	// The upstream echoes the token back in a header and the body.
	rt := rec.WrapTransport(baseFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		body := "you sent " + string(b) + " with " + r.Header.Get("X-Auth-Token")
		return &http.Response{StatusCode: 200, Header: http.Header{"X-Echo": {tok}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}))
	liveURL := func(secret string) string {
		return "https://api.test/v/" + secret + "/data?api_key=" + url.QueryEscape(secret) + "&pin=" + short
	}
	send := func(rt http.RoundTripper, secret string) (string, error) {
		return replayDo(t, rt, "POST", liveURL(secret), `{"token":"`+secret+`"}`,
			http.Header{"X-Auth-Token": {secret}})
	}
	if _, err := send(rt, tok); err != nil {
		t.Fatal(err)
	}

	// An MQTT session: CONNECT with a user name and password, then the
	// broker publishes the password and token back.
	client, broker := net.Pipe()
	conn, err := rec.WrapConnect(func(context.Context, string, *tls.Config) (net.Conn, error) { return client, nil })(ctx, "broker.test:1883", nil)
	if err != nil {
		t.Fatal(err)
	}
	connect := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: "c1",
			UsernameFlag: true, Username: []byte(user), PasswordFlag: true, Password: []byte(pass)}}
	pub := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, ProtocolVersion: 4,
		TopicName: "t/" + tok, Payload: []byte("pw " + pass)}
	connectRaw, pubRaw := encodePacket(t, connect.ConnectEncode), encodePacket(t, pub.PublishEncode)
	go func() {
		io.ReadFull(broker, make([]byte, len(connectRaw)))
		broker.Write(pubRaw)
	}()
	if _, err := conn.Write(connectRaw); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, make([]byte, len(pubRaw))); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	broker.Close()

	var out bytes.Buffer
	if _, err := rec.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	js := out.String()
	for _, s := range []string{tok, "tok%2Fen%2B1234", "tok%2Fen+1234", user, pass,
		base64.StdEncoding.EncodeToString([]byte(pass))[:8]} {
		if strings.Contains(js, s) {
			t.Errorf("the cassette holds %q:\n%s", s, js)
		}
	}
	if !strings.Contains(js, "pin="+short) {
		t.Errorf("the short secret was scrubbed from the URL (want it left alone):\n%s", js)
	}
	c, err := cassette.Read(&out)
	if err != nil {
		t.Fatalf("the scrubbed cassette does not read back: %v", err)
	}
	var raw []byte
	for _, p := range c.MQTT[0].Packets {
		if p.Dir == "broker" && p.Type == "PUBLISH" {
			raw, _ = base64.StdEncoding.DecodeString(p.Raw)
		}
	}
	if !bytes.Contains(raw, []byte("t/"+cassette.Redacted)) || !bytes.Contains(raw, []byte("pw "+cassette.Redacted)) || bytes.Contains(raw, []byte(pass)) {
		t.Errorf("the broker's raw PUBLISH is not scrubbed: %q", raw)
	}

	// Replay: the secret served is [REDACTED]; the application sends it
	// where it sent the real one, and the scrubbed exchange answers.
	rep := cassette.NewReplayer(c, cassette.Options{})
	v, _, err := rep.WrapConfig(nil).Fetch(ctx, "UV1", abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreSecret, "token")
	if err != nil || string(v) != cassette.Redacted {
		t.Fatalf("replayed secret = %q, %v; want %q", v, err, cassette.Redacted)
	}
	got, err := send(rep.WrapTransport(nil), string(v))
	if err != nil {
		t.Fatalf("replay of the scrubbed request: %v (mismatches %v)", err, rep.Mismatches())
	}
	if want := `you sent {"token":"[REDACTED]"`; !strings.HasPrefix(got, want) {
		t.Errorf("replayed body %q, want prefix %q", got, want)
	}
}
