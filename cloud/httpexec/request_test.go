package httpexec_test

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/link"
)

// seenRequests is a WrapTransport that keeps the requests it passes on.
type seenRequests struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *seenRequests) wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		s.mu.Unlock()
		return base.RoundTrip(r)
	})
}

func (s *seenRequests) last(t *testing.T) *http.Request {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("no request reached the transport")
	}
	return s.reqs[len(s.reqs)-1]
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRequestFromValidatedURL: the outgoing request is the device's, built
// from the URL validate parsed (no render and re-parse): method, path and
// query, Host, body with its length (and GetBody, for a retry on a new
// connection), headers.
func TestRequestFromValidatedURL(t *testing.T) {
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write([]byte(r.Method + " " + r.Host + " " + r.URL.RequestURI() + " " + r.Header.Get("X-App") + " " + string(b)))
	})
	var seen seenRequests
	e := newExec(t, httpexec.Options{AllowPrefixes: loopback, RootCAs: []*x509.Certificate{root}, WrapTransport: seen.wrap})
	host := strings.TrimPrefix(srv.URL, "https://")
	req := &link.HTTPRequest{Method: "PUT", URL: srv.URL + "/p/a%20b?q=1&r=%2F", Headers: []string{"X-App: yes"}, Body: []byte("hello"), TimeoutMS: 5000}
	resp := do(t, e, req, 1024)
	wantResult(t, resp, abi.HTTPResultOK)
	if want := "PUT " + host + " /p/a%20b?q=1&r=%2F yes hello"; string(resp.Body) != want {
		t.Fatalf("server saw %q, want %q", resp.Body, want)
	}
	r := seen.last(t)
	if r.ContentLength != 5 || r.GetBody == nil || r.Host != host || r.URL.String() != req.URL {
		t.Fatalf("request: length %d, GetBody %v, Host %q, URL %q", r.ContentLength, r.GetBody != nil, r.Host, r.URL)
	}
	if b, err := r.GetBody(); err != nil {
		t.Fatal(err)
	} else if got, _ := io.ReadAll(b); string(got) != "hello" {
		t.Fatalf("GetBody gave %q", got)
	}
}

// TestCallerDeadlineReused: a caller whose context already ends no later
// than the request's timeout (the cloud's session sets it when the request
// arrives) gets no second deadline context; a later or no deadline gets
// the request's own.
func TestCallerDeadlineReused(t *testing.T) {
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	var seen seenRequests
	e := newExec(t, httpexec.Options{AllowPrefixes: loopback, RootCAs: []*x509.Certificate{root}, WrapTransport: seen.wrap})
	req := get(srv.URL) // TimeoutMS 5000

	early, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := e.Perform(early, req, 1024)
	if err != nil || resp.Result != uint32(abi.HTTPResultOK) {
		t.Fatalf("Perform: %d %v", resp.Result, err)
	}
	r := seen.last(t)
	d, _ := early.Deadline()
	if got, ok := r.Context().Deadline(); !ok || !got.Equal(d) || r.Context().Done() != early.Done() {
		t.Fatalf("with the caller's earlier deadline: request deadline %v (%v), want the caller's context (%v)", got, ok, d)
	}

	late, cancel2 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel2()
	before := time.Now()
	if resp, err := e.Perform(late, req, 1024); err != nil || resp.Result != uint32(abi.HTTPResultOK) {
		t.Fatalf("Perform: %d %v", resp.Result, err)
	}
	r = seen.last(t)
	got, ok := r.Context().Deadline()
	if !ok || got.Before(before.Add(5*time.Second)) || got.After(time.Now().Add(5*time.Second)) || r.Context().Done() == late.Done() {
		t.Fatalf("with a later caller deadline: request deadline %v (%v), want its own, 5 s from the call", got, ok)
	}
}

// TestURLUserInfoSentAsBasicAuth: user information in the URL becomes
// Basic authorization, as http.Client sends it, unless the application
// set Authorization itself.
func TestURLUserInfoSentAsBasicAuth(t *testing.T) {
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok {
			w.Write([]byte("none:" + r.Header.Get("Authorization")))
			return
		}
		w.Write([]byte(u + ":" + p))
	})
	e := trusted(t, root)
	u := strings.Replace(srv.URL, "https://", "https://dev:s3cret@", 1)
	if resp := do(t, e, get(u), 1024); string(resp.Body) != "dev:s3cret" {
		t.Fatalf("server saw %q", resp.Body)
	}
	own := &link.HTTPRequest{Method: "GET", URL: u, Headers: []string{"Authorization: Bearer t"}, TimeoutMS: 5000}
	if resp := do(t, e, own, 1024); string(resp.Body) != "none:Bearer t" {
		t.Fatalf("server saw %q", resp.Body)
	}
}
