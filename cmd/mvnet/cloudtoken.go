package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/cloud/store"
)

func newCloudTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage the account's auth token",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCloudTokenRotateCmd())
	return cmd
}

func newCloudTokenRotateCmd() *cobra.Command {
	var t storeTarget
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Give the account a new auth token (the old one stops working)",
		Long: `Give the REST API's account a new auth token, print it once and write the
CLI's credentials file with it. The old token stops working at once, on
every cloud node. A lost token is never fatal: rotate it.

With the cloud stopped (or on an external NATS), it works on the data
directory's store and needs no credentials — the way to recover a lost
token. While 'mvnet cloud serve' runs on the data directory, or with
--cloud, it goes through the REST API (POST /v1/AuthToken) with the
current token; if that is lost, stop the cloud and run it on the data
directory.

` + apiCredentialsHelp,
		Example: `  mvnet cloud token rotate --data-dir ./mvnet-data
  mvnet cloud token rotate --cloud http://127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return rotateToken(ctxOf(cmd), t, cmd.OutOrStdout(), slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)))
		},
	}
	t.register(cmd.Flags())
	return cmd
}

// rotateToken rotates the account's token, prints it and saves the CLI's
// credentials with it.
func rotateToken(ctx context.Context, t storeTarget, out io.Writer, log *slog.Logger) error {
	show := func(apiURL, account, token string) {
		fmt.Fprintf(out, "account  %s\n", account)
		fmt.Fprintf(out, "token    %s  (the account's new auth token: shown this once, stored hashed)\n", token)
		saveCLICredentials(out, log, apiURL, account, token)
	}
	return onStore(ctx, t, func(st *store.Store, apiURL string) error {
		account, token, err := st.RotateToken(ctx)
		if err != nil {
			return err
		}
		show(apiURL, account, token)
		return nil
	}, func(s *apiSession) error {
		account, token, err := s.RotateToken(ctx)
		if err != nil {
			return s.explain(err)
		}
		show(s.BaseURL, account, token)
		return nil
	})
}
