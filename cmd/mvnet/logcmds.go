package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/internal/apiclient"
)

func newLogsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Read devices' server logs (mvServerLog)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newLogsStreamCmd())
	return cmd
}

// parseSince takes an RFC 3339 time or a duration back from now ("10m",
// "1h30m").
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time such as 2026-11-21T00:00:00Z or a duration back from now such as 10m", s)
}

func newLogsStreamCmd() *cobra.Command {
	var (
		af     apiFlags
		output outputFlag
		since  string
		after  uint64
	)
	cmd := &cobra.Command{
		Use:   "stream SID|UniqueName",
		Short: "Follow a device's server log live, until interrupted",
		Long: `Follow a device's server log (the lines its application sends with
mvServerLog) from a running cloud's REST API, printing each line as it
arrives, until interrupted (Ctrl-C).

Without --since or --after only new lines are shown. --since replays the
stored history from a time (RFC 3339, or a duration back from now such as
10m) and then follows; --after from just after a line's sequence number
(the seq of --output json), and --after 0 from the first line stored. When
the connection drops the stream reconnects by itself and resumes after the
last line shown (Last-Event-ID), so no line is lost or repeated.

--output text prints "TIME  LINE" (UTC); --output json prints one JSON
object per line: {"seq":…,"date":…,"line":…}.

` + apiCredentialsHelp,
		Example: `  mvnet logs stream UV0123456789abcdef0123456789abcdef
  mvnet logs stream pump-7 --since 10m
  mvnet logs stream pump-7 --after 0
  mvnet logs stream pump-7 --since 2026-11-21T00:00:00Z --output json | jq -r .line`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var o apiclient.StreamOptions
			// --after 0 is the whole history: the flag's presence, not its
			// value, says whether it was given.
			afterSet := cmd.Flags().Changed("after")
			if since != "" && afterSet {
				return fmt.Errorf("--since and --after cannot be combined")
			}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return err
				}
				o.Since = t
			}
			if afterSet {
				o.After = &after
			}
			s, err := af.session()
			if err != nil {
				return err
			}
			errOut := cmd.ErrOrStderr()
			o.OnReconnect = func(err error, delay time.Duration, lastSeq uint64) {
				where := "live lines"
				if lastSeq != 0 {
					where = "after line " + strconv.FormatUint(lastSeq, 10)
				}
				fmt.Fprintf(errOut, "mvnet: log stream: %v; reconnecting in %s (%s)\n", s.explain(err), delay.Round(time.Millisecond), where)
			}
			w := cmd.OutOrStdout()
			err = s.StreamLogs(ctxOf(cmd), args[0], o, func(ev apiclient.LogEvent) error {
				if output == "json" {
					b, err := json.Marshal(ev)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(w, "%s\n", b)
					return err
				}
				_, err := fmt.Fprintf(w, "%s  %s\n", ev.Date.UTC().Format("2006-01-02T15:04:05.000Z07:00"), strings.TrimRight(ev.Line, "\r\n"))
				return err
			})
			return s.explain(err)
		},
	}
	f := cmd.Flags()
	af.register(f)
	addOutputFlag(f, &output)
	f.StringVar(&since, "since", "", "replay history from this time (RFC 3339) or this long ago (e.g. 10m), then follow")
	f.Uint64Var(&after, "after", 0, "replay history after this line's sequence number (0: all of it), then follow")
	return cmd
}
