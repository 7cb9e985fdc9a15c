// Command mvnet runs Microvisor's networking system on a PC: an emulated
// device kernel and a cloud that performs its requests.
//
//	mvnet demo            run the whole HTTPS flow against a local server
//	mvnet run -- ./app    run a C application built with the C SDK, with a transcript
//	mvnet broker          run the embedded MQTT broker alone
//	mvnet cloud serve     run the cloud on its own (store, REST API, TLS device listener)
//	mvnet device …        create devices (credential bundles), list, get, update
//	mvnet config|secret … manage config and secrets through the REST API
//	mvnet logs stream SID follow a device's server log
//	mvnet fault …         apply, list and clear faults on a device (docs/fault-injection.md)
//	mvnet cloud serve     run the cloud on its own; devices join over TLS (docs/cloud.md)
//	mvnet device create   register a device and write its credential bundle
//	mvnet fleet           load-test a running cloud with emulated devices (docs/scaling.md)
//	mvnet syscalls        print the system call support table
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	// SIGTERM too: CI systems stop a job with it, and a run must then
	// clean up as on Ctrl-C (the application stopped, the hosted cloud's
	// temporary data and --api-env file removed).
	// The first signal only: once ctx is done the signals are Go's
	// default again, so a second Ctrl-C or SIGTERM ends the process at once
	// (during a long clean-up or a cloud node's drain).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	ctx = context.WithValue(ctx, stopSignalsKey{}, stop)
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "mvnet:", err)
		os.Exit(1)
	}
}

// stopSignalsKey is the context key of main's signal stop: a command
// that goes on after the first signal (cloud serve's drain) calls it
// first, so that a second signal ends the process (context.AfterFunc runs
// it too, but on a goroutine of its own, maybe after the second signal).
type stopSignalsKey struct{}

// stopSignals restores the default action of main's signals, if ctx
// descends from main's.
func stopSignals(ctx context.Context) {
	if stop, ok := ctx.Value(stopSignalsKey{}).(context.CancelFunc); ok {
		stop()
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "mvnet",
		Short: "Microvisor networking on a PC: device kernel and cloud",
		Long: `mvnet is an open implementation of Microvisor's networking system calls
(networks, channels, HTTPS requests, notifications) and of the cloud that
serves them, so Microvisor applications can be developed and tested without
a board.

Start with 'mvnet demo', which runs a complete HTTPS request from an emulated
device through an embedded cloud to a local HTTPS server and prints every
system call, status and notification.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDemoCmd(), newRunCmd(), newBuildCmd(), newSyscallsCmd(), newBrokerCmd(), newCloudCmd(), newDeviceCmd(),
		newConfigCmd(), newSecretCmd(), newLogsCmd(), newFaultCmd(), newFleetCmd(), newEmulateCmd())
	strictTree(root)
	return root
}
