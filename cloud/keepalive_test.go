package cloud_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
)

func TestNegativeKeepAliveRefused(t *testing.T) {
	for _, o := range []cloud.Options{{PingInterval: -time.Second}, {IdleTimeout: -time.Second}} {
		if _, err := cloud.New(o); err == nil || !strings.Contains(err.Error(), "must not be negative") {
			t.Errorf("cloud.New(%+v): %v, want an error naming the keep-alive", o, err)
		}
	}
}
