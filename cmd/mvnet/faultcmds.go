package main

// mvnet fault kinds|list|apply|clear: the CLI door of the one fault model
// (cloud/faults), through the REST API's /v1/Devices/{Sid}/Faults.

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/internal/apiclient"
)

const faultDocsHelp = `docs/fault-injection.md describes every kind, its parameters and what the
device sees.`

func newFaultCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fault",
		Short: "Apply, list and clear faults on a device (link, upstream HTTP, MQTT, clock …)",
		Long: `Provoke faults for one device of a running cloud, through its REST API: a
dropped or flapping link, latency, a channel closed by the server, DNS
failures, upstream HTTP faults for a URL pattern, MQTT broker faults, an unset
or skewed clock, server logging disabled, an update announced, a cloud
restart. Each fault applies to that device only.

The cloud is 'mvnet cloud serve', or the one 'mvnet run --api ADDR' hosts.

` + faultDocsHelp,
		Example: `  mvnet fault kinds
  mvnet fault apply pump-7 link-flap period=2s duty=0.25
  mvnet fault apply pump-7 http-status url='https://api.example.com/*' status=503 for=30s
  mvnet fault apply pump-7 mqtt-refuse reason-code=135
  mvnet fault list pump-7
  mvnet fault clear pump-7 --all`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(faultKindsCmd(), faultListCmd(), faultApplyCmd(), faultClearCmd())
	return cmd
}

func faultKindsCmd() *cobra.Command {
	var output outputFlag
	cmd := &cobra.Command{
		Use:   "kinds",
		Short: "List the fault kinds, their parameters and what each does",
		Long: `List every fault kind: whether it is one-shot (acts once when applied) or
lasting (in force until cleared, or for=DURATION), the parameters it takes
(required ones marked *; every lasting kind also takes for=DURATION) and what
it does. Needs no cloud.

` + faultDocsHelp,
		Example: `  mvnet fault kinds
  mvnet fault kinds --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printKinds(cmd.OutOrStdout(), output)
		},
	}
	addOutputFlag(cmd.Flags(), &output)
	return cmd
}

type kindJSON struct {
	Kind     string   `json:"kind"`
	OneShot  bool     `json:"one_shot"`
	Params   []string `json:"parameters"`
	Required []string `json:"required"`
	Summary  string   `json:"summary"`
}

func printKinds(w io.Writer, output outputFlag) error {
	var items []kindJSON
	for _, k := range faults.Kinds() {
		items = append(items, kindJSON{Kind: string(k.Kind), OneShot: k.OneShot,
			Params: append([]string{}, k.Params...), Required: append([]string{}, k.Required...), Summary: k.Summary})
	}
	return printList(w, output, items, "no fault kinds", "KIND\tACTS\tPARAMETERS\tSUMMARY", func(k kindJSON) string {
		acts := "lasting"
		if k.OneShot {
			acts = "one-shot"
		}
		var ps []string
		for _, p := range k.Params {
			if slices.Contains(k.Required, p) {
				p += "*"
			}
			ps = append(ps, p)
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s", k.Kind, acts, cell(strings.Join(ps, " "), 0), k.Summary)
	})
}

func faultListCmd() *cobra.Command {
	var (
		af     apiFlags
		output outputFlag
	)
	cmd := &cobra.Command{
		Use:   "list DEVICE",
		Short: "List the faults in force on a device",
		Long: `List the faults in force on a device (SID or UniqueName), oldest first: each
fault's SID, its kind and parameters as 'mvnet fault apply' takes them, when
it was applied and when it ends by itself (for=).

` + apiCredentialsHelp,
		Example: `  mvnet fault list pump-7
  mvnet fault list UV0123456789abcdef0123456789abcdef --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := af.session()
			if err != nil {
				return err
			}
			items, err := s.ListFaults(ctxOf(cmd), args[0])
			if err != nil {
				return s.explain(err)
			}
			return printList(cmd.OutOrStdout(), output, items, "no faults in force on "+args[0],
				"SID\tFAULT\tAPPLIED\tENDS", func(f apiclient.Fault) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s", f.Sid, cell(f.Spec, 80), f.Applied, cell(f.Ends, 0))
				})
		},
	}
	af.register(cmd.Flags())
	addOutputFlag(cmd.Flags(), &output)
	return cmd
}

// parseKeyValues reads apply's key=value arguments. A key given twice is an
// error; the names and values are checked by the cloud (faults.ParseSpec),
// whose message names the parameter.
func parseKeyValues(args []string) (map[string]string, error) {
	out := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: parameters are key=value (e.g. period=2s); 'mvnet fault kinds' lists each kind's", a)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%q: parameter %s given twice", a, k)
		}
		out[k] = v
	}
	return out, nil
}

func faultApplyCmd() *cobra.Command {
	var (
		af     apiFlags
		output outputFlag
	)
	cmd := &cobra.Command{
		Use:   "apply DEVICE KIND [key=value ...]",
		Short: "Apply a fault to a device",
		Long: `Apply a fault of KIND to a device (SID or UniqueName) with the kind's
parameters as key=value ('mvnet fault kinds' lists them). Durations are Go
durations (500ms, 2s, 1m); for=DURATION clears a lasting fault by itself.
Patterns (url=, host=, topic=) use * for any run of characters; quote them
for the shell.

Prints the fault's SID (for 'mvnet fault clear') and the fault as applied. A
one-shot fault (channel-close, update, cloud-restart …) has acted when this
returns; when it cannot act (the device is not connected) the command fails
and says why. An unknown kind or parameter, or a bad value, fails naming it.

` + faultDocsHelp + `

` + apiCredentialsHelp,
		Example: `  # the link goes down for half a second every 2 s, for a minute
  mvnet fault apply pump-7 link-flap period=2s duty=0.25 for=1m
  # every request to the API answers 503
  mvnet fault apply pump-7 http-status url='https://api.example.com/*' status=503
  # broker connects refused: 0x87 not authorized
  mvnet fault apply pump-7 mqtt-refuse reason-code=135
  # close channel 0x1234abcd from the server's side
  mvnet fault apply pump-7 channel-close channel=0x1234abcd`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			params, err := parseKeyValues(args[2:])
			if err != nil {
				return err
			}
			if _, err := faults.ParseSpec(args[1], params); err != nil {
				// Checked here too, so that a typo fails without a cloud;
				// the cloud checks again with the same parser.
				return err
			}
			s, err := af.session()
			if err != nil {
				return err
			}
			f, err := s.ApplyFault(ctxOf(cmd), args[0], args[1], params)
			if err != nil {
				return s.explain(err)
			}
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), f)
			}
			what := "applied"
			if f.Status == "done" {
				what = "done"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s  %s  (%s)\n", f.Sid, f.Spec, what)
			return err
		},
	}
	af.register(cmd.Flags())
	addOutputFlag(cmd.Flags(), &output)
	return cmd
}

func faultClearCmd() *cobra.Command {
	var (
		af   apiFlags
		all  bool
		kind string
	)
	cmd := &cobra.Command{
		Use:   "clear DEVICE (FAULT_SID | --all | --kind KIND)",
		Short: "Clear faults in force on a device",
		Long: `Clear one fault (by the SID 'mvnet fault apply' printed), every fault in
force on the device (--all), or those of one kind (--kind KIND). Clearing a
fault ends its effect: a dropped link is accepted again, latency stops.

` + apiCredentialsHelp,
		Example: `  mvnet fault clear pump-7 FT0123456789abcdef0123456789abcdef
  mvnet fault clear pump-7 --kind link-drop
  mvnet fault clear pump-7 --all`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ways := 0
			for _, b := range []bool{len(args) == 2, all, kind != ""} {
				if b {
					ways++
				}
			}
			if ways != 1 {
				return fmt.Errorf("say what to clear: a FAULT_SID, --all or --kind KIND (exactly one)\nUsage: %s", cmd.UseLine())
			}
			if kind != "" && !faults.KnownKind(kind) {
				return fmt.Errorf("--kind %q: unknown fault kind (one of %s)", kind, strings.Join(faults.KindNames(), ", "))
			}
			s, err := af.session()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 2 {
				if err := s.ClearFault(ctxOf(cmd), args[0], args[1]); err != nil {
					return s.explain(err)
				}
				_, err = fmt.Fprintf(out, "cleared %s\n", args[1])
				return err
			}
			n, err := s.ClearFaults(ctxOf(cmd), args[0], kind)
			if err != nil {
				return s.explain(err)
			}
			_, err = fmt.Fprintf(out, "cleared %d fault(s)\n", n)
			return err
		},
	}
	f := cmd.Flags()
	af.register(f)
	f.BoolVar(&all, "all", false, "clear every fault in force on the device")
	f.StringVar(&kind, "kind", "", "clear the faults of this kind")
	return cmd
}
