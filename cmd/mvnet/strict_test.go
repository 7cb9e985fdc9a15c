package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryParentRejectsUnknownSubcommands walks the whole command tree: a
// word that is none of a parent's subcommands is an error (mvnet exits 1)
// naming it, with a suggestion when one is close; the parent alone still
// prints its help.
func TestEveryParentRejectsUnknownSubcommands(t *testing.T) {
	var parents []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			parents = append(parents, c)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
	if len(parents) < 6 { // mvnet, cloud, device, config, secret, logs, completion
		t.Fatalf("found only %d parent commands", len(parents))
	}
	for _, p := range parents {
		path := strings.Fields(p.CommandPath())[1:]
		args := append(append([]string{}, path...), "zzqxv")
		out, err := run(args...)
		if err == nil || !strings.Contains(err.Error(), `unknown command "zzqxv" for "`+p.CommandPath()+`"`) {
			t.Errorf("mvnet %s: err = %v, output %q; want an unknown command error", strings.Join(args, " "), err, out)
		}
		// A mistyped subcommand (its name less the last letter) is named
		// in a suggestion; hidden commands (mvnet __emulate) never are.
		var name string
		for _, c := range p.Commands() {
			if !c.Hidden {
				name = c.Name()
				break
			}
		}
		args = append(append([]string{}, path...), name[:len(name)-1])
		if _, err := run(args...); err == nil || !strings.Contains(err.Error(), "Did you mean this?\n\t"+name+"\n") {
			t.Errorf("mvnet %s: err = %v; want a suggestion of %q", strings.Join(args, " "), err, name)
		}
		out, err = run(path...)
		if err != nil || !strings.Contains(out, "Usage:\n  "+p.CommandPath()+" [command]\n") || strings.Contains(out, p.CommandPath()+" [flags]") {
			t.Errorf("mvnet %s: err = %v, want its help:\n%s", strings.Join(path, " "), err, out)
		}
	}
	// The hidden emulate command is neither listed nor suggested.
	if out, _ := run("--help"); strings.Contains(out, "__emulate") {
		t.Errorf("mvnet --help lists the hidden emulate command:\n%s", out)
	}
	for _, args := range [][]string{{"device", "remov"}, {"cloud", "start"}, {"help", "zzqxv"}, {"help", "device", "remov"}, {"completion", "tcsh"}} {
		if _, err := run(args...); err == nil || !strings.Contains(err.Error(), "unknown command") {
			t.Errorf("mvnet %s: err = %v", strings.Join(args, " "), err)
		}
	}
	for _, args := range [][]string{{"help"}, {"help", "device"}, {"help", "config", "set"}} {
		if out, err := run(args...); err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("mvnet %s: err = %v, output:\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestArgumentErrorsShowUsage: a wrong number of arguments says what is
// expected.
func TestArgumentErrorsShowUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "set", "KEY"}, "accepts 2 arg(s), received 1\nUsage: mvnet config set KEY VALUE [flags]"},
		{[]string{"secret", "set"}, "Usage: mvnet secret set KEY VALUE|- [flags]"},
		{[]string{"logs", "stream"}, "Usage: mvnet logs stream SID|UniqueName [flags]"},
		{[]string{"device", "get", "a", "b"}, "Usage: mvnet device get SID|UniqueName [flags]"},
		{[]string{"run"}, "no application given\nUsage: mvnet run [flags] -- ./app [args]"},
		{[]string{"run", "./app"}, "put the application after --: mvnet run [flags] -- ./app\nUsage: mvnet run [flags] -- ./app [args]"},
		{[]string{"demo", "extra"}, "unknown command \"extra\" for \"mvnet demo\"\nUsage: mvnet demo [flags]"},
		// --firmware replaces the application (docs/firmware.md).
		{[]string{"run", "--firmware", "app.elf", "--", "./app"}, "--firmware runs an application image: give no application after -- (got ./app)\nUsage: mvnet run [flags] -- ./app [args]"},
		{[]string{"run", "--firmware", "/nonexistent/app.elf"}, "firmware image: open /nonexistent/app.elf: no such file or directory"},
		{[]string{"run", "--firmware", "strict_test.go"}, "not an ELF file; a raw binary needs --load-address (e.g. 0x08000000)"},
		{[]string{"run", "--firmware", "strict_test.go", "--load-address", "flash"}, `--load-address "flash": want a 32-bit address such as 0x08000000`},
		{[]string{"run", "--realtime", "--", "./app"}, "--realtime is a setting of the firmware emulator: it needs --firmware app.elf"},
		{[]string{"run", "--gdb", "127.0.0.1:3333", "--", "./app"}, "--gdb is a setting of the firmware emulator: it needs --firmware app.elf"},
		{[]string{"run", "--firmware", "app.elf", "--gdb", "0.0.0.0:3333"}, "--gdb 0.0.0.0:3333: the GDB stub has no authentication and controls the whole emulated device, so it listens on a loopback address only"},
		{[]string{"run", "--load-address", "0x08000000", "--", "./app"}, "--load-address is a setting of the firmware emulator"},
	} {
		if _, err := run(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("mvnet %s: err = %v, want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}
