package link

import (
	"errors"
	"reflect"
	"testing"
)

func TestConfigRoundTrip(t *testing.T) {
	req := ConfigRequest{Keys: []ConfigKey{{0, 1, "broker-host"}, {1, 0, "api-key"}, {1, 1, ""}}}
	b := AppendConfigRequest(nil, &req)
	if len(b) != ConfigRequestSize(&req) {
		t.Fatalf("size %d, encoded %d", ConfigRequestSize(&req), len(b))
	}
	for i := range len(b) {
		if _, _, err := ParseConfigRequest(b[:i]); !errors.Is(err, ErrShort) {
			t.Fatalf("prefix of %d bytes: %v, want ErrShort", i, err)
		}
	}
	got, n, err := ParseConfigRequest(append(b, 9, 9))
	if err != nil || n != len(b) || !reflect.DeepEqual(got, req) {
		t.Fatalf("ParseConfigRequest = %+v, %d, %v", got, n, err)
	}
	resp := ConfigResponse{Result: 0, Items: []ConfigItem{{0, []byte("mqtt.example.com")}, {1, nil}, {2, nil}}}
	b = AppendConfigResponse(nil, &resp)
	if len(b) != ConfigResponseSize(&resp) {
		t.Fatal("response size")
	}
	gr, n, err := ParseConfigResponse(b)
	if err != nil || n != len(b) || !reflect.DeepEqual(gr, resp) {
		t.Fatalf("ParseConfigResponse = %+v, %d, %v", gr, n, err)
	}
	empty := ConfigResponse{Result: 1}
	if gr, _, err := ParseConfigResponse(AppendConfigResponse(nil, &empty)); err != nil || !reflect.DeepEqual(gr, empty) {
		t.Fatalf("empty response: %+v %v", gr, err)
	}
}

func TestConfigRejects(t *testing.T) {
	req := AppendConfigRequest(nil, &ConfigRequest{Keys: []ConfigKey{{0, 1, "k"}}})
	bad := func(b []byte, mut func([]byte)) []byte { c := append([]byte(nil), b...); mut(c); return c }
	for name, b := range map[string][]byte{
		"wrong kind":   bad(req, func(c []byte) { c[4] = 2 }),
		"too many":     bad(req, func(c []byte) { c[5] = 2 }),
		"key too long": bad(req, func(c []byte) { c[9] = 2 }),
		"trailing":     bad(append(req, 0), func(c []byte) { c[0]++ }),
		"total small":  bad(req, func(c []byte) { c[0] = 3 }),
	} {
		if _, _, err := ParseConfigRequest(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	resp := AppendConfigResponse(nil, &ConfigResponse{Items: []ConfigItem{{0, []byte("v")}}})
	for name, b := range map[string][]byte{
		"wrong kind":     bad(resp, func(c []byte) { c[4] = 1 }),
		"too many":       bad(resp, func(c []byte) { c[9] = 2 }),
		"value too long": bad(resp, func(c []byte) { c[12] = 2 }),
	} {
		if _, err := IndexConfigResponse(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}
