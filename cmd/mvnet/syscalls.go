package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/csdk/process"
	"github.com/mvnet/mvnet/kernel"
)

func newSyscallsCmd() *cobra.Command {
	var markdown, csdk bool
	cmd := &cobra.Command{
		Use:   "syscalls",
		Short: "Print which Microvisor system calls mvnet implements",
		Long: `Print the kernel's system call table: each call, its family, how completely
mvnet implements it (full, partial, stub, none) and a note on any difference
from Microvisor. --c-sdk lists every call of mv_syscalls.h instead, with
how the C SDK serves it (kernel, emulated on the host, or not served).
--markdown prints both tables as docs/syscalls.md holds them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if markdown {
				_, err := fmt.Fprint(out, supportMarkdown())
				return err
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			if csdk {
				fmt.Fprintln(w, "CALL\tC SDK\tNOTE")
				for _, s := range process.SupportTable() {
					fmt.Fprintf(w, "%s\t%s\t%s\n", s.Name, s.Served, s.Note)
				}
				return w.Flush()
			}
			fmt.Fprintln(w, "CALL\tFAMILY\tSUPPORT\tNOTE")
			for _, s := range kernel.Syscalls() {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Name, s.Family, s.Support, s.Note)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print both tables as Markdown (docs/syscalls.md)")
	cmd.Flags().BoolVar(&csdk, "c-sdk", false, "list every call of mv_syscalls.h and how the C SDK serves it")
	return cmd
}

// supportMarkdown renders docs/syscalls.md: the kernel's table, then every
// call of the header as the C SDK serves it.
func supportMarkdown() string {
	var b strings.Builder
	b.WriteString(kernel.SupportTable())
	writeCSDKTable(&b)
	return b.String()
}

func writeCSDKTable(w io.Writer) {
	fmt.Fprint(w, "\n## Every call of mv_syscalls.h in the C SDK\n\n")
	fmt.Fprint(w, "How libmvnet serves each function of the header: by the kernel above, emulated on the host, or not served (`MV_STATUS_UNAVAILABLE`, said in the trace).\n\n")
	fmt.Fprint(w, "| call | served | note |\n|---|---|---|\n")
	for _, s := range process.SupportTable() {
		fmt.Fprintf(w, "| `%s` | %s | %s |\n", s.Name, s.Served, s.Note)
	}
}
