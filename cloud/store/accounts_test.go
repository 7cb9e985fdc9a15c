package store

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
)

func TestAccount(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, Options{DataDir: dir})

	if ok, err := s.CheckAccount(ctx, "AC00000000000000000000000000000000", "x"); err != nil || ok {
		t.Fatalf("CheckAccount before any account = %v, %v; want false, nil", ok, err)
	}
	sid, token, created, err := s.EnsureAccount(ctx)
	if err != nil || !created {
		t.Fatalf("EnsureAccount = %q, %q, %v, %v", sid, token, created, err)
	}
	if !regexp.MustCompile(`^AC[0-9a-f]{32}$`).MatchString(sid) || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(token) {
		t.Fatalf("sid %q token %q: wrong shape", sid, token)
	}
	for _, c := range []struct {
		sid, token string
		want       bool
	}{
		{sid, token, true},
		{sid, token + "x", false},
		{sid, token[:31], false},
		{sid, "", false},
		{"AC" + token, token, false},
		{"", token, false},
	} {
		if ok, err := s.CheckAccount(ctx, c.sid, c.token); err != nil || ok != c.want {
			t.Errorf("CheckAccount(%q, %q) = %v, %v; want %v", c.sid, c.token, ok, err, c.want)
		}
	}
	// The token is not stored in the clear.
	e, err := s.meta.Get(ctx, accountKey)
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(token).Match(e.Value()) {
		t.Fatal("the account record holds the token in the clear")
	}

	// A second start keeps the account and does not reveal the token.
	sid2, token2, created2, err := s.EnsureAccount(ctx)
	if err != nil || created2 || sid2 != sid || token2 != "" {
		t.Fatalf("second EnsureAccount = %q, %q, %v, %v", sid2, token2, created2, err)
	}
	s.Close()
	s = open(t, Options{DataDir: dir})
	sid3, token3, created3, err := s.EnsureAccount(ctx)
	if err != nil || created3 || sid3 != sid || token3 != "" {
		t.Fatalf("EnsureAccount after restart = %q, %q, %v, %v", sid3, token3, created3, err)
	}
	if ok, err := s.CheckAccount(ctx, sid, token); err != nil || !ok {
		t.Fatalf("CheckAccount after restart = %v, %v", ok, err)
	}
}

func TestAccountRace(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{DataDir: t.TempDir()})
	type res struct {
		sid, token string
		created    bool
	}
	out := make([]res, 8)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			sid, token, created, err := s.EnsureAccount(ctx)
			if err != nil {
				t.Error(err)
			}
			out[i] = res{sid, token, created}
		})
	}
	wg.Wait()
	n := 0
	for _, r := range out {
		if r.sid != out[0].sid {
			t.Fatalf("two accounts: %q and %q", r.sid, out[0].sid)
		}
		if r.created {
			n++
			if ok, _ := s.CheckAccount(ctx, r.sid, r.token); !ok {
				t.Fatal("the creator's token does not work")
			}
		} else if r.token != "" {
			t.Fatal("token shown without creating")
		}
	}
	if n != 1 {
		t.Fatalf("%d callers created the account, want 1", n)
	}
}

func TestRotateToken(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{DataDir: t.TempDir()})
	if _, _, err := s.RotateToken(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RotateToken without an account: %v, want ErrNotFound", err)
	}
	sid, old, _, err := s.EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rev0 := must[uint64](t)(s.AccountRevision(ctx))
	sid2, token, err := s.RotateToken(ctx)
	if err != nil || sid2 != sid || token == old || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(token) {
		t.Fatalf("RotateToken = %q, %q, %v (old token %q)", sid2, token, err, old)
	}
	if ok, _ := s.CheckAccount(ctx, sid, old); ok {
		t.Fatal("the old token still works")
	}
	if ok, err := s.CheckAccount(ctx, sid, token); !ok || err != nil {
		t.Fatalf("the new token: %v, %v", ok, err)
	}
	if rev := must[uint64](t)(s.AccountRevision(ctx)); rev == rev0 {
		t.Fatal("AccountRevision unchanged by a rotation")
	}
}
