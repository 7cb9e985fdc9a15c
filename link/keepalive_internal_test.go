package link

import (
	"net"
	"testing"
	"time"
)

// TestCloseStopsKeepAliveTimer: a closed Conn's keep-alive timer is
// stopped, so the timer does not keep the Conn (its buffers, its net.Conn,
// whatever its owner hangs on it) in memory until the next interval.
func TestCloseStopsKeepAliveTimer(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := NewConn(a)
	c.KeepAlive(time.Hour, 2*time.Hour)
	timer := c.kaTimer.Load()
	if timer == nil {
		t.Fatal("KeepAlive stored no timer")
	}
	c.Close()
	if timer.Stop() {
		t.Fatal("the keep-alive timer was still running after Close")
	}
	// KeepAlive after the end stops its timer at once.
	c.KeepAlive(time.Hour, 2*time.Hour)
	if c.kaTimer.Load().Stop() {
		t.Fatal("KeepAlive on a closed Conn left its timer running")
	}
}
