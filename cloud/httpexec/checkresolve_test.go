package httpexec

import (
	"errors"
	"testing"
)

// TestCheckResolveAgreesWithNew: CheckResolve refuses what New refuses,
// with a *ResolveError naming the entry, and accepts what New accepts.
func TestCheckResolveAgreesWithNew(t *testing.T) {
	for _, list := range [][]string{
		{"a.test:443:127.0.0.1"},
		{"a.test:443:127.0.0.1", "a.test:8443:127.0.0.1:9443"},
		{"bad"},
		{"a.test:443:127.0.0.1", "A.TEST:443:127.0.0.2"},
		{"a.test:0:127.0.0.1"},
	} {
		_, newErr := New(Options{Resolve: list})
		err := CheckResolve(list)
		if (err == nil) != (newErr == nil) {
			t.Errorf("%q: CheckResolve %v, New %v", list, err, newErr)
			continue
		}
		if err == nil {
			continue
		}
		var re *ResolveError
		if !errors.As(err, &re) || re.Entry != list[len(list)-1] || re.Reason == "" || err.Error() != newErr.Error() {
			t.Errorf("%q: CheckResolve %#v, New %v", list, err, newErr)
		}
	}
}
