package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startEmbedded runs a nats-server with JetStream file storage under dir. It
// listens on no port (DontListen): the store reaches it in process. With sync
// set, JetStream fsyncs every write (SyncAlways) — the issue requires secrets
// to be on disk when the API answers; see BenchmarkPutConfig for the cost.
func startEmbedded(dir string, sync bool, log *slog.Logger) (*server.Server, error) {
	opts := &server.Options{
		ServerName:         "mvnet-cloud-store",
		DontListen:         true,
		NoSigs:             true,
		JetStream:          true,
		StoreDir:           dir,
		SyncAlways:         sync,
		JetStreamMaxMemory: 64 << 20,
		MaxPayload:         1 << 20,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("store: embedded NATS: %w", err)
	}
	srv.SetLoggerV2(&natsLogger{log.With("component", "nats-server")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("store: embedded NATS did not start within 15s (data in %s)", dir)
	}
	return srv, nil
}

// natsLogger adapts slog to nats-server's Logger. Debug and trace are off
// (the server would trace message payloads).
type natsLogger struct{ l *slog.Logger }

func (n *natsLogger) Noticef(f string, v ...any) {
	n.l.Log(context.Background(), slog.LevelDebug, fmt.Sprintf(f, v...))
}
func (n *natsLogger) Warnf(f string, v ...any)  { n.l.Warn(fmt.Sprintf(f, v...)) }
func (n *natsLogger) Fatalf(f string, v ...any) { n.l.Error(fmt.Sprintf(f, v...)) }
func (n *natsLogger) Errorf(f string, v ...any) { n.l.Error(fmt.Sprintf(f, v...)) }
func (n *natsLogger) Debugf(f string, v ...any) { n.l.Debug(fmt.Sprintf(f, v...)) }
func (n *natsLogger) Tracef(f string, v ...any) {}
