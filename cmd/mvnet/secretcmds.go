package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/internal/apiclient"
)

// maxSecretInput bounds a secret read from stdin (the API takes 4096
// bytes; a little more lets it give its own error).
const maxSecretInput = 64 << 10

func newSecretCmd() *cobra.Command {
	var (
		af     apiFlags
		device string
		output outputFlag
	)
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Manage secrets (write-only; account scope, or a device's with --device)",
		Long: `Manage the secrets devices fetch at run time (mvSendConfigFetchRequest with
the secret store) through a running cloud's REST API. Secrets are
write-only: the cloud never returns a value, so 'list' shows only keys and
when each was last set. Without --device the commands work on the account
scope; with --device SID (or UniqueName) on that device's scope.

'set KEY -' reads the value from standard input (one trailing newline is
dropped), which keeps it out of the shell's history and the process list.

` + apiCredentialsHelp,
		Example: `  mvnet secret set api-key -  < api-key.txt
  mvnet secret set token abc123 --device pump-7
  mvnet secret list
  mvnet secret delete api-key`,
		Args: cobra.NoArgs,
	}
	pf := cmd.PersistentFlags()
	af.register(pf)
	pf.StringVar(&device, "device", "", "work on this device's scope (SID or UniqueName) instead of the account's")

	list := &cobra.Command{
		Use:   "list",
		Short: "List secrets (keys and rotation dates, never values)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := af.session()
			if err != nil {
				return err
			}
			items, err := s.ListSecrets(ctxOf(cmd), device)
			if err != nil {
				return s.explain(err)
			}
			return printList(cmd.OutOrStdout(), output, items, fmt.Sprintf("no secrets in the %s scope", scopeName(device)),
				"KEY\tROTATED", func(x apiclient.Secret) string { return fmt.Sprintf("%s\t%s", cell(x.Key, 0), x.DateRotated) })
		},
	}
	addOutputFlag(list.Flags(), &output)

	set := &cobra.Command{
		Use:   "set KEY VALUE|-",
		Short: "Create or rotate a secret (VALUE - reads standard input)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			value := args[1]
			if value == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxSecretInput+1))
				if err != nil {
					return fmt.Errorf("reading the secret from standard input: %w", err)
				}
				if len(b) > maxSecretInput {
					return fmt.Errorf("the secret on standard input is longer than %d bytes", maxSecretInput)
				}
				value = string(b)
				if v, ok := strings.CutSuffix(value, "\r\n"); ok {
					value = v
				} else {
					value = strings.TrimSuffix(value, "\n")
				}
			}
			s, err := af.session()
			if err != nil {
				return err
			}
			_, created, err := s.SetSecret(ctxOf(cmd), device, args[0], value)
			if err != nil {
				return s.explain(err)
			}
			verb := "rotated"
			if created {
				verb = "created"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "secret %s %s (%s scope)\n", strconv.Quote(args[0]), verb, scopeName(device))
			return nil
		},
	}

	del := &cobra.Command{
		Use:     "delete KEY",
		Aliases: []string{"rm"},
		Short:   "Delete a secret",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := af.session()
			if err != nil {
				return err
			}
			if err := s.DeleteSecret(ctxOf(cmd), device, args[0]); err != nil {
				return s.explain(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "secret %s deleted (%s scope)\n", strconv.Quote(args[0]), scopeName(device))
			return nil
		},
	}
	cmd.AddCommand(list, set, del)
	return cmd
}
