package main

// mvnet config list|get|set|delete, and what the REST API's commands share
// (config, secret, logs, device list|get|update): the --cloud,
// --account-sid and --auth-token flags, the client, error wording and
// output.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mvnet/mvnet/internal/apiclient"
	"github.com/mvnet/mvnet/internal/cliconfig"
)

// apiFlags are the flags that say which cloud to talk to, as whom.
type apiFlags struct {
	creds cliconfig.Credentials
}

func (a *apiFlags) register(f *pflag.FlagSet) {
	f.StringVar(&a.creds.URL, cliconfig.FlagURL, "", "the cloud's REST API, e.g. http://127.0.0.1:8080 (env "+cliconfig.EnvURL+")")
	f.StringVar(&a.creds.AccountSid, cliconfig.FlagAccountSid, "", "the account SID (env "+cliconfig.EnvAccountSid+")")
	f.StringVar(&a.creds.AuthToken, cliconfig.FlagAuthToken, "", "the account's auth token (env "+cliconfig.EnvAuthToken+")")
}

// apiCredentialsHelp is the part of a command's Long help on credentials.
const apiCredentialsHelp = `The cloud's API address and the account's credentials come from the flags
--cloud, --account-sid and --auth-token, else from the environment
(MVNET_CLOUD, MVNET_ACCOUNT_SID, MVNET_AUTH_TOKEN), else from
$XDG_CONFIG_HOME/mvnet/cloud.json (default ~/.config/mvnet/cloud.json).`

// apiSession is a resolved client.
type apiSession struct {
	*apiclient.Client
	resolved cliconfig.Resolved
}

func (a *apiFlags) session() (*apiSession, error) {
	r, err := cliconfig.Resolve(a.creds, nil, "")
	if err != nil {
		return nil, err
	}
	c, err := apiclient.New(r.URL, r.AccountSid, r.AuthToken)
	if err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, sourceName(r.URLFrom, "--"+cliconfig.FlagURL, cliconfig.EnvURL, r.File))
	}
	return &apiSession{Client: c, resolved: r}, nil
}

func sourceName(s cliconfig.Source, flag, env, file string) string {
	switch s {
	case cliconfig.FromFlag:
		return flag
	case cliconfig.FromEnv:
		return env
	}
	return file
}

// explain words an API call's error for the user: the API's own message
// (which names the field and the rule), with a hint where one helps.
func (s *apiSession) explain(err error) error {
	if err == nil {
		return nil
	}
	var ae *apiclient.Error
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		return fmt.Errorf("%s (HTTP 401 from %s; the account SID and auth token came from %s)", ae.Message, s.BaseURL, s.resolved.Describe())
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Errorf("%w (is 'mvnet cloud serve' running there? the URL came from %s)", err,
			sourceName(s.resolved.URLFrom, "--"+cliconfig.FlagURL, cliconfig.EnvURL, s.resolved.File))
	}
	return err
}

// outputFlag is --output text|json.
type outputFlag string

func (o *outputFlag) String() string { return string(*o) }
func (o *outputFlag) Type() string   { return "text|json" }
func (o *outputFlag) Set(v string) error {
	switch v {
	case "text", "json":
		*o = outputFlag(v)
		return nil
	}
	return fmt.Errorf("want text or json")
}

func addOutputFlag(f *pflag.FlagSet, o *outputFlag) {
	*o = "text"
	f.Var(o, "output", "output format: text or json")
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
}

// cell shows s in one table cell: quoted when it holds tabs, newlines or
// other unprintable characters, and cut to max runes (0: no limit).
func cell(s string, max int) string {
	if s == "" {
		return "-"
	}
	plain := utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
	if !plain {
		s = strconv.Quote(s)
	}
	if max > 0 && utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	return s
}

func scopeName(device string) string {
	if device == "" {
		return "account"
	}
	return "device " + device
}

func newConfigCmd() *cobra.Command {
	var (
		af     apiFlags
		device string
		output outputFlag
	)
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Manage config values (account scope, or a device's with --device)",
		Long: `Manage the config values devices fetch at run time (mvSendConfigFetchRequest
with the config store) through a running cloud's REST API. Without --device
the commands work on the account scope, which every device reads; with
--device SID (or the device's UniqueName) on that device's own scope.

` + apiCredentialsHelp,
		Example: `  mvnet config set broker mqtt.example.com
  mvnet config get broker
  mvnet config list --device pump-7 --output json
  mvnet config delete broker`,
		Args: cobra.NoArgs,
	}
	pf := cmd.PersistentFlags()
	af.register(pf)
	pf.StringVar(&device, "device", "", "work on this device's scope (SID or UniqueName) instead of the account's")

	list := &cobra.Command{
		Use:   "list",
		Short: "List config values",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := af.session()
			if err != nil {
				return err
			}
			items, err := s.ListConfigs(ctxOf(cmd), device)
			if err != nil {
				return s.explain(err)
			}
			return printList(cmd.OutOrStdout(), output, items, fmt.Sprintf("no config values in the %s scope", scopeName(device)),
				"KEY\tVALUE\tUPDATED", func(c apiclient.Config) string {
					return fmt.Sprintf("%s\t%s\t%s", cell(c.Key, 0), cell(c.Value, 60), c.DateUpdated)
				})
		},
	}
	addOutputFlag(list.Flags(), &output)

	var getOutput outputFlag
	get := &cobra.Command{
		Use:   "get KEY",
		Short: "Print a config value",
		Long:  "Print a config value as it is (text), or the whole config item (--output json).",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := af.session()
			if err != nil {
				return err
			}
			c, err := s.GetConfig(ctxOf(cmd), device, args[0])
			if err != nil {
				return s.explain(err)
			}
			if getOutput == "json" {
				return printJSON(cmd.OutOrStdout(), c)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), c.Value)
			return err
		},
	}
	addOutputFlag(get.Flags(), &getOutput)

	set := &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Create or change a config value",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := af.session()
			if err != nil {
				return err
			}
			_, created, err := s.SetConfig(ctxOf(cmd), device, args[0], args[1])
			if err != nil {
				return s.explain(err)
			}
			verb := "updated"
			if created {
				verb = "created"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "config %s %s (%s scope)\n", strconv.Quote(args[0]), verb, scopeName(device))
			return nil
		},
	}

	del := &cobra.Command{
		Use:     "delete KEY",
		Aliases: []string{"rm"},
		Short:   "Delete a config value",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := af.session()
			if err != nil {
				return err
			}
			if err := s.DeleteConfig(ctxOf(cmd), device, args[0]); err != nil {
				return s.explain(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "config %s deleted (%s scope)\n", strconv.Quote(args[0]), scopeName(device))
			return nil
		},
	}
	cmd.AddCommand(list, get, set, del)
	return cmd
}

// ctxOf is cmd's context, or Background when it has none (a command run
// with Execute rather than ExecuteContext).
func ctxOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// printList prints a list command's items: JSON (an empty array, never
// null) with --output json, else the empty message or a table of header
// and one row per item.
func printList[T any](w io.Writer, output outputFlag, items []T, empty, header string, row func(T) string) error {
	if output == "json" {
		if items == nil {
			items = []T{}
		}
		return printJSON(w, items)
	}
	if len(items) == 0 {
		_, err := fmt.Fprintln(w, empty)
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, header)
	for _, it := range items {
		fmt.Fprintln(tw, row(it))
	}
	return tw.Flush()
}
