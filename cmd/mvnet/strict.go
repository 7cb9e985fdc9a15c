package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// strictTree makes every command of the tree at c say what went wrong with
// its arguments, and exit non-zero:
//
//   - A parent command (one with subcommands and no action of its own) given
//     a word that is none of its subcommands fails with "unknown command"
//     and, where a subcommand is close, a suggestion. Left alone, cobra
//     answers a parent without Run with its help and success for any
//     argument (only the root checks), so `mvnet cloud start` printed help
//     and exited 0. With no argument a parent still prints its help.
//   - Every other command's argument check (cobra.ExactArgs …) is followed
//     by the command's usage line, which says what is expected, and its
//     help shows that line.
//
// Call it once, on the finished tree; called on the root, it first adds
// cobra's completion command and a help command that fails on an unknown
// topic, so that they are checked too.
func strictTree(c *cobra.Command) {
	if !c.HasParent() {
		c.SetHelpCommand(newHelpCmd())
		c.InitDefaultHelpCmd()
		c.InitDefaultCompletionCmd()
	}
	for _, sub := range c.Commands() {
		strictTree(sub)
	}
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = unknownSubcommand
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		// Runnable now, but its usage is still only "PATH [command]".
		c.SetUsageTemplate(strings.Replace(c.UsageTemplate(), runnableUsageLine, "", 1))
		return
	}
	if c.Args != nil {
		c.Args = withUsage(c.Args)
	}
	// Keep cobra's template, with the usage line: a command without one of
	// its own takes its parent's, which the branch above strips for parents
	// once their subcommands are done.
	c.SetUsageTemplate(c.UsageTemplate())
}

// runnableUsageLine is the part of cobra's usage template that shows a
// runnable command's own usage line.
const runnableUsageLine = "{{if .Runnable}}\n  {{.UseLine}}{{end}}"

// unknownSubcommand is a parent command's argument check: any argument is a
// subcommand that does not exist.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n"
		for _, name := range s {
			msg += "\t" + name + "\n"
		}
	}
	return fmt.Errorf("%s\nRun '%s --help' for its commands.", msg, cmd.CommandPath())
}

// withUsage adds the command's usage line to the errors of check.
func withUsage(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return fmt.Errorf("%w\nUsage: %s", err, cmd.UseLine())
		}
		return nil
	}
}

// newHelpCmd is `mvnet help [command]`: cobra's own prints the root's
// help and succeeds for a topic that does not exist.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help provides help for any command in the application.\nSimply type mvnet help [path to command] for full details.",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil {
				return err
			}
			if len(rest) > 0 && cmd.HasSubCommands() {
				return unknownSubcommand(cmd, rest)
			}
			return cmd.Help()
		},
	}
}
