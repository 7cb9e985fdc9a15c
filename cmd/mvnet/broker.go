package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/internal/broker"
)

func newBrokerCmd() *cobra.Command {
	var (
		listen            string
		certFile, keyFile string
		users             []string
		verbose           bool
	)
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded MQTT broker alone, for local experiments",
		Long: `Run mvnet's embedded MQTT broker (the one 'mvnet demo' uses) on its own:
MQTT 3.1.1 and 5, QoS 0, 1 and 2, retained messages, wills and persistent
sessions, all held in memory and lost when it stops.

It listens on 127.0.0.1:1883 unless --listen says otherwise, speaks TLS
when given --tls-cert and --tls-key (PEM), and admits anyone unless --user
names the accounts allowed (every account may use every topic). It prints
the address it listens on and runs until interrupted (Ctrl-C or SIGTERM).

See docs/broker.md for the broker library, its limits and why.`,
		Example: `  mvnet broker
  mvnet broker --listen 127.0.0.1:8883 --tls-cert server.pem --tls-key server-key.pem
  mvnet broker --user alice:s3cret --user bob:hunter2 -v`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := broker.Options{Addr: listen}
			host, port, err := net.SplitHostPort(listen)
			if err != nil {
				return fmt.Errorf("--listen %q: want host:port such as 127.0.0.1:1883", listen)
			}
			if p, err := strconv.ParseUint(port, 10, 16); err != nil || (p == 0 && port != "0") {
				return fmt.Errorf("--listen %q: port %q is not a number from 0 to 65535", listen, port)
			}
			switch {
			case certFile != "" && keyFile != "":
				cert, err := tls.LoadX509KeyPair(certFile, keyFile)
				if err != nil {
					return fmt.Errorf("--tls-cert/--tls-key: %w", err)
				}
				o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			case certFile != "" || keyFile != "":
				return fmt.Errorf("--tls-cert and --tls-key go together: give both or neither")
			}
			for _, u := range users {
				name, password, ok := strings.Cut(u, ":")
				if !ok || name == "" {
					return fmt.Errorf("--user %q: want name:password", u)
				}
				if o.Users == nil {
					o.Users = map[string]string{}
				}
				if _, dup := o.Users[name]; dup {
					return fmt.Errorf("--user %q: user %q given twice", u, name)
				}
				o.Users[name] = password
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelDebug
			}
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})).With("component", "broker")

			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM)
			defer stop()
			b := broker.New(o)
			if err := b.Start(ctx); err != nil {
				return err
			}
			defer b.Close()

			scheme, details := "mqtt", []string{"MQTT 3.1.1 and 5"}
			if o.TLS != nil {
				scheme = "mqtts"
				details = append(details, "TLS")
			}
			if n := len(o.Users); n > 0 {
				details = append(details, fmt.Sprintf("%d user(s)", n))
			} else {
				details = append(details, "no authentication")
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "mvnet broker listening on %s://%s (%s)\n", scheme, b.Addr(), strings.Join(details, ", "))
			if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && len(o.Users) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: %s is not a loopback address and there is no --user: anyone who can reach it may connect\n", listen)
			}
			fmt.Fprintln(out, "press Ctrl-C to stop")

			<-ctx.Done()
			fmt.Fprintln(out, "mvnet broker: shutting down")
			if err := b.Close(); err != nil {
				return err
			}
			fmt.Fprintln(out, "mvnet broker: stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:1883", "TCP address to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&certFile, "tls-cert", "", "PEM certificate chain: serve MQTT over TLS (with --tls-key)")
	f.StringVar(&keyFile, "tls-key", "", "PEM private key of --tls-cert")
	f.StringArrayVar(&users, "user", nil, "require this account, name:password (repeatable; default: anyone may connect)")
	f.BoolVarP(&verbose, "verbose", "v", false, "log connections and the broker's diagnostics to stderr")
	return cmd
}
