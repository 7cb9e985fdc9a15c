package httpexec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/link"
)

func TestReasonBounds(t *testing.T) {
	if r := httpexec.Reason(nil); r != "" {
		t.Errorf("Reason(nil) = %q", r)
	}
	long := errors.New(strings.Repeat("x", 3*link.MaxDiagLen))
	if r := httpexec.Reason(long); len(r) > link.MaxDiagLen || !strings.HasSuffix(r, "…") {
		t.Errorf("Reason of a long error: %d bytes %q", len(r), r)
	}
}
