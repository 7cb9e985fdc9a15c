package mosquitto

import (
	"net"
	"regexp"
	"testing"
)

func TestPasswordLine(t *testing.T) {
	line := PasswordLine("alice", "pw")
	if !regexp.MustCompile(`^alice:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$`).MatchString(line) {
		t.Fatalf("password line %q", line)
	}
	if PasswordLine("alice", "pw") == line {
		t.Fatal("two lines with the same salt")
	}
}

func TestStartStopRestart(t *testing.T) {
	b := Start(t, Options{})
	dial := func() error {
		c, err := net.Dial("tcp", b.Addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatal(err)
	}
	b.Stop()
	if err := dial(); err == nil {
		t.Fatal("still accepting after Stop")
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := b.Restart(); err == nil {
		t.Fatal("Restart of a running broker succeeded")
	}
	if err := dial(); err != nil {
		t.Fatal(err)
	}
}
