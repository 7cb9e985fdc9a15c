package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/kernel"
)

func newSyscallsCmd() *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "syscalls",
		Short: "Print which Microvisor system calls mvnet implements",
		Long: `Print the kernel's system call table: each call, its family, how completely
mvnet implements it (full, partial, stub, none) and a note on any difference
from Microvisor. --markdown prints the table docs/syscalls.md holds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if markdown {
				_, err := fmt.Fprint(out, kernel.SupportTable())
				return err
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CALL\tFAMILY\tSUPPORT\tNOTE")
			for _, s := range kernel.Syscalls() {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Name, s.Family, s.Support, s.Note)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the table as Markdown")
	return cmd
}
