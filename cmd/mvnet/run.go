package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/emu/firmware"
	"github.com/mvnet/mvnet/internal/runner"
)

func newRunCmd() *cobra.Command {
	var o runner.Options
	var loadAddress string
	cmd := &cobra.Command{
		Use:   "run [flags] -- ./app [args]",
		Short: "Run a C application built against mvnet's C SDK, or a firmware image on the emulator, and print a transcript",
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

Firmware (docs/firmware.md): --firmware app.elf runs the exact image built
for the device (arm-none-eabi-gcc, -mcpu=cortex-m33) on mvnet's Cortex-M33
emulator instead of a host program, with the same cloud, flags, transcript
and trace: its system calls trap at Microvisor's secure-gateway addresses
into the same kernel, its USART output is the application's output, and a
fault it does not handle ends the run with a crash report (registers,
fault status, faulting instruction, symbolised backtrace). A raw .bin needs
--load-address 0x08000000 (its vector table first). Time is virtual (instructions at 160
MHz) and the cloud follows it: replies are applied at the same instruction
on every run, and a latency fault, a request's timeout, a fault's end and
a scenario's timeline run on the device's virtual time, so a run is
repeatable; --realtime paces the virtual clock to the wall clock and
applies replies as they come. --gdb 127.0.0.1:PORT
serves a GDB remote stub and the image waits, stopped at its reset
handler, for gdb-multiarch ('target remote 127.0.0.1:PORT'). The exit
status is mvTestingComplete's, or 70 after a crash report.

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
  # the exact device image on the emulator; a raw binary needs its address
  mvnet run --firmware build/app.elf --allow 127.0.0.0/8 --ca-file ca.pem
  mvnet run --firmware app.bin --load-address 0x08000000 --scenario link-drop.yaml
  mvnet run --firmware app.elf --gdb 127.0.0.1:3333 &   # then: gdb-multiarch app.elf -ex 'target remote 127.0.0.1:3333'
  # record once against the real upstream, then replay with no network
  mvnet run --record http.cassette.json -- ./app
  mvnet run --replay http.cassette.json --scenario s.yaml --junit out.xml -- ./app`,
		Args: func(cmd *cobra.Command, args []string) error {
			if fw := cmd.Flags().Lookup("firmware"); fw != nil && fw.Changed {
				if len(args) > 0 {
					return fmt.Errorf("--firmware runs an application image: give no application after -- (got %s)", args[0])
				}
				return nil
			}
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
			if o.Firmware.Image != "" {
				if err := firmwareFlags(cmd, &o, loadAddress); err != nil {
					return err
				}
			} else if err := noFirmwareFlags(cmd); err != nil {
				return err
			} else {
				o.App, o.Args = args[0], args[1:]
			}
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
	f.StringVar(&o.Firmware.Image, "firmware", "", "run this application image (ELF, or .bin with --load-address) on the Cortex-M33 emulator (docs/firmware.md)")
	f.StringVar(&loadAddress, "load-address", "", "with --firmware and a raw .bin: where it goes, e.g. 0x08000000")
	f.BoolVar(&o.Firmware.Realtime, "realtime", false, "with --firmware: pace the virtual clock to the wall clock (not deterministic)")
	f.StringVar(&o.Firmware.GDB, "gdb", "", "with --firmware: serve a GDB remote stub at this loopback address (e.g. 127.0.0.1:3333); the image waits for the debugger")
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

// firmwareFlags completes the runner's settings for --firmware.
func firmwareFlags(cmd *cobra.Command, o *runner.Options, loadAddress string) error {
	if loadAddress != "" {
		a, err := runner.ParseLoadAddress(loadAddress)
		if err != nil {
			return err
		}
		o.Firmware.LoadAddress = a
	}
	if o.Firmware.GDB != "" {
		if err := firmware.CheckGDBAddress(o.Firmware.GDB); err != nil {
			return err
		}
	}
	o.CheckImage = firmware.Check
	return nil
}

// noFirmwareFlags rejects the emulator's flags without --firmware.
func noFirmwareFlags(cmd *cobra.Command) error {
	for _, name := range []string{"load-address", "realtime", "gdb"} {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s is a setting of the firmware emulator: it needs --firmware app.elf", name)
		}
	}
	return nil
}
