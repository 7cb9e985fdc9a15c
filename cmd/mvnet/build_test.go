package main

import (
	"strings"
	"testing"
)

// TestBuildHelp: mvnet build --help shows its usage line (runnable
// commands' help lost it to their parents' template, see strictTree) and
// teaches the steps, the SDK's sources and the raw CMake equivalent.
func TestBuildHelp(t *testing.T) {
	for _, args := range [][]string{{"build", "--help"}, {"help", "build"}} {
		out, err := run(args...)
		if err != nil {
			t.Fatalf("mvnet %s: %v", strings.Join(args, " "), err)
		}
		for _, want := range []string{
			"Usage:\n  mvnet build [flags] [PROJECT_DIR] [-- CMAKE_ARGS...]\n",
			"$MVNET_SDK", "CMAKE_PROJECT_TOP_LEVEL_INCLUDES", "mvnet-host.cmake", "docs/porting.md", "--build-dir",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("mvnet %s lacks %q:\n%s", strings.Join(args, " "), want, out)
			}
		}
	}
	// Every runnable command keeps its own usage line.
	for _, args := range [][]string{{"run", "--help"}, {"config", "set", "--help"}} {
		out, err := run(args...)
		if err != nil || !strings.Contains(out, "Usage:\n  mvnet "+strings.Join(args[:len(args)-1], " ")+" ") {
			t.Errorf("mvnet %s: %v, no usage line:\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestBuildArgumentErrors: more than one project directory is refused,
// naming the problem.
func TestBuildArgumentErrors(t *testing.T) {
	_, err := run("build", "a", "b")
	if err == nil || !strings.Contains(err.Error(), "one project directory, got 2") {
		t.Errorf("mvnet build a b: %v", err)
	}
}
