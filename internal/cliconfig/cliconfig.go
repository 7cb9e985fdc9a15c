// Package cliconfig is where the mvnet CLI finds the REST API it talks to
// and the account's credentials.
//
// Each of the three settings — the API's URL, the account SID and the auth
// token — comes from the first of:
//
//  1. the flags --cloud URL, --account-sid SID, --auth-token TOKEN;
//  2. the environment: MVNET_CLOUD, MVNET_ACCOUNT_SID, MVNET_AUTH_TOKEN;
//  3. the file Path() names: $XDG_CONFIG_HOME/mvnet/cloud.json, by default
//     ~/.config/mvnet/cloud.json, a JSON object
//     {"url": …, "account_sid": …, "auth_token": …} written by Save with
//     mode 0600.
package cliconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Environment variables.
const (
	EnvURL        = "MVNET_CLOUD"
	EnvAccountSid = "MVNET_ACCOUNT_SID"
	EnvAuthToken  = "MVNET_AUTH_TOKEN"
)

// Flag names.
const (
	FlagURL        = "cloud"
	FlagAccountSid = "account-sid"
	FlagAuthToken  = "auth-token"
)

// Credentials are what the CLI needs to reach the API as the account.
type Credentials struct {
	URL        string `json:"url"`
	AccountSid string `json:"account_sid"`
	AuthToken  string `json:"auth_token"`
}

// Path is the credentials file: $XDG_CONFIG_HOME/mvnet/cloud.json, or
// ~/.config/mvnet/cloud.json when XDG_CONFIG_HOME is unset or relative.
func Path() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "mvnet", "cloud.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot locate the mvnet config file: %w (set XDG_CONFIG_HOME or HOME)", err)
	}
	return filepath.Join(home, ".config", "mvnet", "cloud.json"), nil
}

// Load reads a credentials file. A missing file is an error wrapping
// fs.ErrNotExist.
func Load(path string) (Credentials, error) {
	var c Credentials
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: not a credentials file (want {\"url\":…,\"account_sid\":…,\"auth_token\":…}): %v", path, err)
	}
	return c, nil
}

// Save writes c to path with mode 0600 (its directory 0700 if new),
// replacing the file atomically.
func Save(path string, c Credentials) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".cloud-*.json")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Source says where a resolved setting came from.
type Source string

const (
	FromFlag Source = "flag"
	FromEnv  Source = "environment"
	FromFile Source = "file"
)

// Resolved are resolved credentials and where each part came from.
type Resolved struct {
	Credentials
	URLFrom, AccountSidFrom, AuthTokenFrom Source
	// File is the credentials file consulted ("" if it could not be
	// located).
	File string
}

// Describe names where the account SID and auth token came from, for
// error messages: e.g. "--account-sid and MVNET_AUTH_TOKEN".
func (r Resolved) Describe() string {
	name := func(s Source, flag, env string) string {
		switch s {
		case FromFlag:
			return "--" + flag
		case FromEnv:
			return env
		}
		return r.File
	}
	a := name(r.AccountSidFrom, FlagAccountSid, EnvAccountSid)
	t := name(r.AuthTokenFrom, FlagAuthToken, EnvAuthToken)
	if a == t {
		return a
	}
	return a + " and " + t
}

// Resolve picks each setting from flags (empty: not given), else getenv
// (nil: os.Getenv), else the file at path ("" : Path()). The file is read
// only when flags and environment leave something unset; it may be
// missing. When a setting is still unset, the error names it and all three
// ways of giving it.
func Resolve(flags Credentials, getenv func(string) string, path string) (Resolved, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var r Resolved
	pick := func(flag, env string, dst *string, src *Source) {
		switch {
		case flag != "":
			*dst, *src = flag, FromFlag
		case getenv(env) != "":
			*dst, *src = getenv(env), FromEnv
		}
	}
	pick(flags.URL, EnvURL, &r.URL, &r.URLFrom)
	pick(flags.AccountSid, EnvAccountSid, &r.AccountSid, &r.AccountSidFrom)
	pick(flags.AuthToken, EnvAuthToken, &r.AuthToken, &r.AuthTokenFrom)

	if path == "" {
		if p, err := Path(); err == nil {
			path = p
		}
	}
	r.File = path
	var fileErr error
	if r.URL == "" || r.AccountSid == "" || r.AuthToken == "" {
		if path == "" {
			fileErr = errors.New("the config file cannot be located")
		} else if fc, err := Load(path); err != nil {
			fileErr = err
		} else {
			fill := func(v string, dst *string, src *Source) {
				if *dst == "" && v != "" {
					*dst, *src = v, FromFile
				}
			}
			fill(fc.URL, &r.URL, &r.URLFrom)
			fill(fc.AccountSid, &r.AccountSid, &r.AccountSidFrom)
			fill(fc.AuthToken, &r.AuthToken, &r.AuthTokenFrom)
		}
	}
	var missing []string
	if r.URL == "" {
		missing = append(missing, "the cloud's URL")
	}
	if r.AccountSid == "" {
		missing = append(missing, "the account SID")
	}
	if r.AuthToken == "" {
		missing = append(missing, "the auth token")
	}
	if len(missing) == 0 {
		return r, nil
	}
	file := path
	if file == "" {
		file = "$XDG_CONFIG_HOME/mvnet/cloud.json"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "no cloud credentials: missing %s. Give them", strings.Join(missing, ", "))
	fmt.Fprintf(&b, " with the flags --%s URL --%s SID --%s TOKEN,", FlagURL, FlagAccountSid, FlagAuthToken)
	fmt.Fprintf(&b, " or in the environment as %s, %s and %s,", EnvURL, EnvAccountSid, EnvAuthToken)
	fmt.Fprintf(&b, ` or in the file %s as {"url":…,"account_sid":…,"auth_token":…}`, file)
	switch {
	case fileErr != nil && errors.Is(fileErr, fs.ErrNotExist):
		b.WriteString(" (it does not exist)")
	case fileErr != nil:
		fmt.Fprintf(&b, " (unreadable: %v)", fileErr)
	}
	b.WriteString("; 'mvnet cloud serve' prints the account SID and auth token at its first start")
	return r, errors.New(b.String())
}
