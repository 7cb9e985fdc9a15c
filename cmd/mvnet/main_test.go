package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func run(args ...string) (string, error) {
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestBadFlagsGiveClearErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--rx-size", "1000"}, "--rx-size 1000: channel buffers must be a non-zero multiple of 512"},
		{[]string{"demo", "--tx-size", "0"}, "--tx-size 0"},
		{[]string{"demo", "--url", "not a url"}, "is not an absolute URL"},
		{[]string{"demo", "--header", "NoColon"}, "want 'Name: value'"},
		{[]string{"demo", "--allow", "10.0.0.0"}, "want a CIDR prefix"},
		{[]string{"demo", "--ca-file", "/nonexistent/ca.pem"}, "--ca-file"},
		{[]string{"demo", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"demo", "extra"}, "unknown command \"extra\""},
		{[]string{"syscalls", "extra"}, "unknown command \"extra\""},
	}
	for _, c := range cases {
		_, err := run(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("mvnet %s: err = %v, want it to mention %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

func TestSyscallsPrintsTheTable(t *testing.T) {
	out, err := run("syscalls")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mvSendHttpRequest", "full", "mvMqttRequestConnect", "none"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// docs/syscalls.md is generated; keep it current with
// `go run ./cmd/mvnet syscalls --markdown > docs/syscalls.md`.
func TestSyscallsDocIsCurrent(t *testing.T) {
	got, err := os.ReadFile("../../docs/syscalls.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != supportMarkdown() {
		t.Fatal("docs/syscalls.md is stale: run `go run ./cmd/mvnet syscalls --markdown > docs/syscalls.md`")
	}
}
