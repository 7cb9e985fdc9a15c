package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"
)

// Secret values are sealed with AES-256-GCM: a fresh random 96-bit nonce per
// write (stored in front of the ciphertext), and as associated data the
// value's place — "account/<key>" or "device/<SID>/<key>" — so a sealed value
// copied to another key or another device fails to open.
type sealer struct{ gcm cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != SecretKeyLen {
		return nil, fmt.Errorf("store: SecretKey must be %d bytes, got %d", SecretKeyLen, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &sealer{g}, nil
}

func (s *sealer) seal(plain []byte, ad string) ([]byte, error) {
	nonce := make([]byte, s.gcm.NonceSize(), s.gcm.NonceSize()+len(plain)+s.gcm.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.gcm.Seal(nonce, nonce, plain, []byte(ad)), nil
}

func (s *sealer) open(sealed []byte, ad string) ([]byte, error) {
	n := s.gcm.NonceSize()
	if len(sealed) < n+s.gcm.Overhead() {
		return nil, errors.New("store: sealed value too short")
	}
	p, err := s.gcm.Open(nil, sealed[:n], sealed[n:], []byte(ad))
	if err != nil {
		return nil, errors.New("store: sealed value does not open (wrong SecretKey or tampered data)")
	}
	return p, nil
}

// loadSecretKey returns Options.SecretKey, or DataDir/secret.key, generating
// it (32 random bytes, mode 0600, created exclusively) when missing.
func loadSecretKey(opts Options, log *slog.Logger) ([]byte, error) {
	if len(opts.SecretKey) > 0 {
		if len(opts.SecretKey) != SecretKeyLen {
			return nil, fmt.Errorf("store: SecretKey must be %d bytes, got %d", SecretKeyLen, len(opts.SecretKey))
		}
		return append([]byte(nil), opts.SecretKey...), nil
	}
	if opts.DataDir == "" {
		return nil, errors.New("store: Options.SecretKey is required with an external NATS URL and no DataDir (every node must share it)")
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(opts.DataDir, SecretKeyFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, SecretKeyLen)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("store: create secret key: %w", err)
		}
		_, err = f.Write(key)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("store: write secret key: %w", err)
		}
		log.Info("generated secret key", "path", path)
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: read secret key: %w", err)
	}
	if len(key) != SecretKeyLen {
		return nil, fmt.Errorf("store: %s holds %d bytes, want %d", path, len(key), SecretKeyLen)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("secret key file is readable by group or others", "path", path, "mode", fi.Mode().Perm().String())
	}
	return key, nil
}

const keyCheckName = "secret_key_check"

var keyCheckPlain = []byte("mvnet secret key check v1")

// checkSecretKey stores a sealed marker on first Open and opens it on every
// later one, so a store opened with another key fails now rather than at the
// first Fetch of a secret.
func (s *Store) checkSecretKey(ctx context.Context) error {
	e, err := s.meta.Get(ctx, keyCheckName)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		sealed, err := s.aead.seal(keyCheckPlain, keyCheckName)
		if err != nil {
			return err
		}
		if _, err := s.meta.Create(ctx, keyCheckName, sealed); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("store: %w", err)
		} else if err == nil {
			return nil
		}
		if e, err = s.meta.Get(ctx, keyCheckName); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if _, err := s.aead.open(e.Value(), keyCheckName); err != nil {
		return errors.New("store: the SecretKey does not match the one the stored secrets were sealed with")
	}
	return nil
}
