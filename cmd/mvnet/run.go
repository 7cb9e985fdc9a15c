package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/internal/runner"
)

func newRunCmd() *cobra.Command {
	var o runner.Options
	cmd := &cobra.Command{
		Use:   "run [flags] -- ./app [args]",
		Short: "Run a C application built against mvnet's C SDK and print a transcript",
		Long: `Run a Microvisor application built for the host with mvnet's C SDK
(libmvnet), with an embedded cloud behind it, and print a readable transcript
of every system call, notification and interrupt on stderr while the
application's own output goes to stdout.

The flags set the SDK's environment variables for the application:
--device-id (MVNET_DEVICE_ID), --ca-file (MVNET_CA_FILE), --resolve
(MVNET_RESOLVE), --allow (MVNET_ALLOW), --log (MVNET_LOG), --board
(MVNET_BOARD: the simulated peripherals, docs/peripherals.md),
--mqtt-plaintext (MVNET_MQTT_PLAINTEXT=1: an MQTT connect without
tls_credentials is plain TCP, for a local broker without TLS; without it
such a connect is TLS, as on the production service); --trace keeps
the raw trace (MVNET_TRACE) in a file, its newest lines within
MVNET_TRACE_MAX (docs/c-sdk.md, "The trace"). Repeated events (a polling
loop) show as one line with their count. The application's lines and the
transcript come out in the order they happened: the library writes the
trace into the pipe of the application's stdout (made line buffered,
MVNET_STDOUT_LINEBUF=1), and mvnet separates the two again.

--update-after D announces a downloaded update D after the library has
started (the trace's start line): it sets MVNET_UPDATE_SIGNAL=1, which makes
the library take SIGUSR1 for that, and then sends the application SIGUSR1.

Hosted mode (--api): mvnet runs the cloud itself, in its own process, and
the application joins it as a device (MVNET_BUNDLE), instead of carrying an
embedded cloud. The hosted cloud keeps its store in a temporary directory
(removed at the end) and outlives the application's restarts (mvRestart),
as a real cloud does. --allow, --resolve, --ca-file, --mqtt-plaintext and
MVNET_CONFIG_FILE apply to it; its server log lines are echoed
("[mvServerLog] …") and traced as the library does, and every fault
applied to the device ('mvnet fault apply') shows in the transcript when it
starts and ends. --api ADDR serves the cloud's REST API there (e.g.
127.0.0.1:0 for a free port); mvnet prints its URL, the device's SID and
the settings the CLI reads as export lines on stderr, and --api-env FILE
writes them to FILE, for a script to source (docs/c-sdk.md, "Hosted mode").

Testing (docs/testing.md): --scenario FILE runs a scenario file
(docs/scenarios.md) against the device of a hosted cloud: its config and
secret values and initial faults are set before the application starts,
its timeline applies and clears faults, sets values and injects MQTT
messages, and its expectations are judged on what the application and
the device do. The run ends when every expectation is decided (unless
stop-when-met: false) or at the scenario's duration: the application is
then stopped. mvnet prints a summary on stderr after the application's
output (PASS/FAIL per expectation, with why) and --junit FILE writes it
as JUnit XML for CI. A file that does not parse is reported as
file:line: field: message before anything starts.
--record FILE records the hosted cloud's upstream traffic for the device
(HTTP exchanges, MQTT broker sessions, config and secret fetches) into a
cassette, secrets redacted unless --record-secrets; --replay FILE answers
the same traffic from the cassette with no network, broker or store
(docs/record-replay.md): a request that is not in it fails where the
application sees it, and mvnet names it and the closest recorded one.
Replay matches a request by method and URL, and by body for POST, PUT and
PATCH; --match-header NAME (repeatable) makes a header's value count too,
--match-body always|never|writes changes when bodies count, and
--allow-repeats answers a request asked more often than recorded with its
last recorded answer (docs/record-replay.md, "Matching").
--scenario combines with either; --record and --replay do not combine.

Exit status: without --scenario, --record or --replay, mvnet exits with the
application's exit status. With --scenario, it exits 0 when every
expectation and timeline step passed and 1 otherwise (a replay mismatch is
a failure too); the application's own exit status counts only through an
exit: expectation. A scenario file that does not parse exits 2. With
--replay and no scenario, a mismatch makes the status 1.`,
		Example: `  make -C csdk && make -C examples/c/http-get
  mvnet run -- examples/c/http-get/http-get https://example.com/
  mvnet run --allow 127.0.0.0/8 --resolve api.test:8443:127.0.0.1 --ca-file ca.pem \
      --trace trace.jsonl -- ./app
  mvnet run --api 127.0.0.1:0 --api-env run.env -- ./app &
  until [ -f run.env ]; do sleep 0.1; done; . ./run.env
  mvnet fault apply "$MVNET_DEVICE" link-drop for=5s
  # CI: a scenario, judged, with a JUnit report
  mvnet run --scenario link-drop.yaml --junit out.xml -- ./http-get https://api.test/hello
  # record once against the real upstream, then replay with no network
  mvnet run --record http.cassette.json -- ./app
  mvnet run --replay http.cassette.json --scenario s.yaml --junit out.xml -- ./app`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("no application given")
			}
			if cmd.ArgsLenAtDash() != 0 {
				return fmt.Errorf("put the application after --: mvnet run [flags] -- %s", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// The runner checks the other settings with the library's own
			// checks before the application starts; each CA file is
			// checked here, as the library sees only their concatenation.
			for _, f := range o.CAFiles {
				if _, err := readPEMCerts(f); err != nil {
					return fmt.Errorf("--ca-file: %w", err)
				}
			}
			o.App, o.Args = args[0], args[1:]
			o.Stdin, o.Stdout, o.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
			o.Transcript = cmd.ErrOrStderr()
			err := runner.Run(cmd.Context(), o)
			var exit *runner.ExitError
			if errors.As(err, &exit) {
				os.Exit(exit.Code)
			}
			var status *runner.StatusError
			if errors.As(err, &status) {
				if status.Msg != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), "mvnet run:", status.Msg)
				}
				os.Exit(status.Code)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DeviceID, "device-id", "", "device ID (UV + 32 hex digits); default random")
	f.StringArrayVar(&o.CAFiles, "ca-file", nil, "PEM file of extra roots the cloud trusts (repeatable)")
	f.StringArrayVar(&o.Resolve, "resolve", nil, "map host:port to an address for the cloud, like curl (repeatable)")
	f.StringArrayVar(&o.Allow, "allow", nil, "private/loopback prefix the cloud may reach (CIDR; repeatable)")
	f.BoolVar(&o.MQTTPlaintext, "mqtt-plaintext", false, "an MQTT connect without tls_credentials is plain TCP (local brokers) instead of TLS")
	f.StringVar(&o.Bundle, "bundle", "", "join the running cloud this credential bundle names (mvnet device create) instead of an embedded cloud")
	f.StringVar(&o.Board, "board", "", "board file placing simulated I2C/SPI devices (docs/peripherals.md); default: empty buses")
	f.StringVar(&o.Log, "log", "", "library diagnostics: LEVEL or LEVEL:FILE (debug, info, warn, error, off)")
	f.StringVar(&o.TracePath, "trace", "", "keep the JSON trace in this file")
	f.BoolVar(&o.JSON, "json", false, "print the raw JSON trace lines instead of the transcript")
	f.StringVar(&o.API, "api", "", "host the cloud in mvnet and serve its REST API at this address (e.g. 127.0.0.1:0)")
	f.StringVar(&o.APIEnv, "api-env", "", "with --api: write the API's settings and the device's SID (sh export lines) to this file")
	f.DurationVar(&o.UpdateAfter, "update-after", 0, "announce a downloaded update (SIGUSR1 → UPDATEDOWNLOADED) this long after the library starts, e.g. 2s")
	f.StringVar(&o.Scenario, "scenario", "", "run this scenario file against the device (hosted; docs/scenarios.md): exit 1 if an expectation fails")
	f.StringVar(&o.JUnit, "junit", "", "with --scenario: write the expectations' results as JUnit XML to this file")
	f.StringVar(&o.Record, "record", "", "record the cloud's upstream traffic for the device into this cassette (hosted; docs/record-replay.md)")
	f.StringVar(&o.Replay, "replay", "", "answer the cloud's upstream traffic from this cassette: no network, broker or store (hosted)")
	f.StringArrayVar(&o.MatchHeaders, "match-header", nil, "with --replay: this request header's value must match the recording's too (repeatable)")
	f.StringVar(&o.MatchBody, "match-body", "", "with --replay: when request bodies must match: writes (POST, PUT, PATCH; default), always, never")
	f.BoolVar(&o.AllowRepeats, "allow-repeats", false, "with --replay: answer a request asked more often than recorded with its last recorded answer")
	f.BoolVar(&o.RecordSecrets, "record-secrets", false, "with --record: keep secret values and secret headers in the cassette instead of redacting them")
	return cmd
}
