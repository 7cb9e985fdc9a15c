package main

import (
	"os"
	"testing"
)

// TestMain keeps the tests away from the real user's configuration: the
// first `cloud serve` writes the CLI's credentials file.
func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" { // runMain: the test binary is mvnet
		main()
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "mvnet-cli-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
