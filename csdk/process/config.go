package process

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/periph"
)

// The environment variables the C SDK reads, once, at the application's
// first system call.
const (
	// EnvDeviceID is the device's ID: "UV" and 32 hex digits. Default: a
	// random one, kept across mvRestart.
	EnvDeviceID = "MVNET_DEVICE_ID"
	// EnvCAFile names a PEM file of CA certificates the embedded cloud
	// trusts, besides the system's roots, for the HTTPS servers it reaches.
	EnvCAFile = "MVNET_CA_FILE"
	// EnvResolve maps host names to addresses for the cloud, like curl's
	// --resolve: "host:port:addr[,host:port:addr…]".
	EnvResolve = "MVNET_RESOLVE"
	// EnvAllow lists the prefixes the cloud may reach although they are
	// loopback, private or link-local: "127.0.0.0/8[,10.1.0.0/16…]" (a bare
	// address means just that address).
	EnvAllow = "MVNET_ALLOW"
	// EnvTrace names a file that receives one JSON line per system call,
	// notification and interrupt delivery ("-" is stderr). A restarted
	// application (mvRestart) appends to it.
	EnvTrace = "MVNET_TRACE"
	// EnvLog sets the diagnostics: "LEVEL" or "LEVEL:FILE" with LEVEL one
	// of debug, info, warn, error, off. Default "warn" on stderr.
	EnvLog = "MVNET_LOG"
	// EnvRestarts counts the restarts made by mvRestart; set by the library
	// for the re-executed application, 0 or absent at first.
	EnvRestarts = "MVNET_RESTARTS"
	// EnvTraceMax caps the trace file (MVNET_TRACE) in bytes: at the cap
	// its oldest lines are dropped, the newest kept, and a "dropped" line
	// says what went (TraceFile). Streams (a pipe, stderr) have no cap.
	// 0 is no cap. Default DefaultTraceMax.
	EnvTraceMax = "MVNET_TRACE_MAX"
	// EnvUpdateSignal, set to 1, makes SIGUSR1 announce a downloaded update
	// (UpdateSignal); unset or 0, the library leaves SIGUSR1 alone.
	EnvUpdateSignal = "MVNET_UPDATE_SIGNAL"
	// EnvBundle names a credential bundle ('mvnet device create'): the
	// application joins that running cloud ('mvnet cloud serve') over TLS
	// as the bundle's device instead of starting an embedded cloud. The
	// device ID is the bundle's (MVNET_DEVICE_ID, if set, must agree), and
	// the outbound policy is the running cloud's: MVNET_CA_FILE,
	// MVNET_RESOLVE and MVNET_ALLOW are errors with it. docs/cloud.md.
	EnvBundle = "MVNET_BUNDLE"
	// EnvStdoutLineBuf, set to 1, makes stdout line buffered from start-up
	// (read by the library's C half before main; mvnet run sets it).
	EnvStdoutLineBuf = "MVNET_STDOUT_LINEBUF"
	// EnvTranscript, set to 1, says a transcript shows the trace's link
	// errors to the user (mvnet run sets it): the library then logs them
	// at debug level instead of warning, so they are not printed twice —
	// those the trace takes: one it cannot take (a failed write) is still
	// a warning.
	EnvTranscript = "MVNET_TRANSCRIPT"
	// EnvDataDir is the directory of the embedded cloud's store (configs,
	// secrets, server logs; cloud/store): kept across runs, and shared
	// with 'mvnet cloud serve --data-dir'. Unset, the store lives in a
	// temporary directory removed at exit.
	EnvDataDir = "MVNET_DATA_DIR"
	// EnvConfigFile names a JSON file (Seed) whose config values and
	// secrets are put into the store at start.
	EnvConfigFile = "MVNET_CONFIG_FILE"
	// EnvServerLog, set to off, stops the echo of the application's server
	// log lines (mvServerLog) to stderr; on (the default) echoes them.
	EnvServerLog = "MVNET_SERVERLOG"
	// EnvMQTTPlaintext, set to 1, makes an MQTT connect without
	// tls_credentials plain TCP (for local brokers, as seed 004 describes);
	// unset or 0, it is TLS verified against the system's roots plus
	// MVNET_CA_FILE, as on the production service (docs/mqtt.md).
	EnvMQTTPlaintext = "MVNET_MQTT_PLAINTEXT"
	// EnvWakeReason is the MvWakeReason the re-executed application reads
	// (mvGetWakeReason); set by the library when it restarts the
	// application, absent at first (COLDBOOT).
	EnvWakeReason = "MVNET_WAKE_REASON"
)

// DefaultTraceMax is the trace's size cap unless MVNET_TRACE_MAX says
// otherwise: 64 MiB.
const DefaultTraceMax = 64 << 20

// Config is the process's configuration, from the environment.
type Config struct {
	DeviceID  string // "" = random
	RootCAs   []*x509.Certificate
	Resolve   []string
	Allow     []netip.Prefix
	TracePath string // "" = no trace; "-" = stderr
	LogLevel  slog.Level
	LogOff    bool
	LogPath   string // "" = stderr
	Restarts  int
	// TraceMax caps the trace file in bytes; 0 = no cap.
	TraceMax int64
	// UpdateSignal: SIGUSR1 announces a downloaded update.
	UpdateSignal bool
	// Transcript: a transcript shows link errors (EnvTranscript).
	Transcript bool
	// Bundle, when set (EnvBundle), is the running cloud to join instead
	// of starting an embedded one.
	Bundle *device.Bundle
	// DataDir is the store's directory (EnvDataDir); "" = temporary.
	DataDir string
	// Seed is put into the store at start (EnvConfigFile); nil = nothing.
	Seed *Seed
	// ServerLogOff: server log lines are not echoed to stderr.
	ServerLogOff bool
	// Board holds the simulated peripherals (EnvBoard); nil = empty buses.
	Board      *periph.Board
	boardClock *boardClock // Board's clock (periph.go)
	// BoardStart is when Board's timelines began: EnvBoardEpoch after a
	// restart, else when the board was read.
	BoardStart time.Time
	// MQTTPlaintext: an MQTT connect without credentials is plain TCP
	// (EnvMQTTPlaintext).
	MQTTPlaintext bool
	// WakeReason is what mvGetWakeReason reports (EnvWakeReason).
	WakeReason abi.WakeReason
}

// ConfigError is a bad environment variable.
type ConfigError struct {
	Var, Value string
	Err        error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("mvnet: %s=%q: %v", e.Var, e.Value, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ConfigFromEnv reads the configuration with getenv (os.Getenv outside
// tests). The first bad variable is returned as a *ConfigError.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	bad := func(name string, err error) (Config, error) {
		return Config{}, &ConfigError{Var: name, Value: getenv(name), Err: err}
	}
	if v := getenv(EnvDeviceID); v != "" {
		if err := kernel.ValidateDeviceID(v); err != nil {
			return bad(EnvDeviceID, err)
		}
		c.DeviceID = v
	}
	if v := getenv(EnvCAFile); v != "" {
		cas, err := readCAFile(v)
		if err != nil {
			return bad(EnvCAFile, err)
		}
		c.RootCAs = cas
	}
	if v := getenv(EnvResolve); v != "" {
		c.Resolve = splitList(v)
		// The cloud's own parser decides; ask it now so the message names
		// the variable.
		if _, err := httpexec.New(httpexec.Options{Resolve: c.Resolve}); err != nil {
			return bad(EnvResolve, err)
		}
	}
	if v := getenv(EnvAllow); v != "" {
		for _, s := range splitList(v) {
			p, err := parsePrefix(s)
			if err != nil {
				return bad(EnvAllow, err)
			}
			c.Allow = append(c.Allow, p)
		}
	}
	if v := getenv(EnvBundle); v != "" {
		b, err := device.LoadBundle(v)
		if err != nil {
			return bad(EnvBundle, err)
		}
		if c.DeviceID != "" && c.DeviceID != b.DeviceSid {
			return bad(EnvDeviceID, fmt.Errorf("the bundle %s (%s) is device %s", EnvBundle, v, b.DeviceSid))
		}
		for _, name := range []string{EnvCAFile, EnvResolve, EnvAllow, EnvMQTTPlaintext} {
			if getenv(name) != "" {
				return bad(name, fmt.Errorf("has no effect with %s: the running cloud's outbound policy applies (mvnet cloud serve --ca-file, --resolve, --allow, --mqtt-plaintext)", EnvBundle))
			}
		}
		c.Bundle, c.DeviceID = b, b.DeviceSid
	}
	c.TracePath = getenv(EnvTrace)
	c.TraceMax = DefaultTraceMax
	if v := getenv(EnvTraceMax); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return bad(EnvTraceMax, fmt.Errorf("want a size in bytes (0: no limit)"))
		}
		c.TraceMax = n
	}
	switch v := getenv(EnvUpdateSignal); v {
	case "", "0":
	case "1":
		c.UpdateSignal = true
	default:
		return bad(EnvUpdateSignal, fmt.Errorf("want 1 (SIGUSR1 announces an update) or 0"))
	}
	switch v := getenv(EnvTranscript); v {
	case "", "0":
	case "1":
		c.Transcript = true
	default:
		return bad(EnvTranscript, fmt.Errorf("want 1 (a transcript shows link errors) or 0"))
	}
	if v := getenv(EnvLog); v != "" {
		if err := c.parseLog(v); err != nil {
			return bad(EnvLog, err)
		}
	} else {
		c.LogLevel = slog.LevelWarn
	}
	if v := getenv(EnvRestarts); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return bad(EnvRestarts, fmt.Errorf("want a count of restarts (set by the library)"))
		}
		c.Restarts = n
	}
	switch v := getenv(EnvMQTTPlaintext); v {
	case "", "0":
	case "1":
		c.MQTTPlaintext = true
	default:
		return bad(EnvMQTTPlaintext, fmt.Errorf("want 1 (an MQTT connect without tls_credentials is plain TCP) or 0 (TLS)"))
	}
	if v := getenv(EnvWakeReason); v != "" {
		n, err := strconv.ParseUint(v, 0, 8)
		if err != nil || n > uint64(abi.WakeReasonDeepSleepOther) {
			return bad(EnvWakeReason, fmt.Errorf("want an MvWakeReason, 0 to %d (set by the library)", abi.WakeReasonDeepSleepOther))
		}
		c.WakeReason = abi.WakeReason(n)
	}
	if v := getenv(EnvBoardEpoch); v != "" {
		ns, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return bad(EnvBoardEpoch, fmt.Errorf("want the board's start in Unix nanoseconds (set by the library)"))
		}
		c.BoardStart = time.Unix(0, ns)
	}
	if name, err := c.storeFromEnv(getenv); err != nil {
		return bad(name, err)
	}
	if err := c.readBoard(getenv); err != nil {
		return bad(EnvBoard, err)
	}
	return c, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither a prefix (127.0.0.0/8) nor an address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func readCAFile(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cas []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		cas = append(cas, c)
	}
	if len(cas) == 0 {
		return nil, fmt.Errorf("%s holds no PEM CERTIFICATE block", path)
	}
	return cas, nil
}

func (c *Config) parseLog(v string) error {
	level, path, _ := strings.Cut(v, ":")
	switch strings.ToLower(level) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	case "off", "none":
		c.LogOff = true
	default:
		return fmt.Errorf("level %q: want debug, info, warn, error or off, optionally followed by :FILE", level)
	}
	c.LogPath = path
	return nil
}

// logger opens the diagnostics destination.
func (c *Config) logger() (*slog.Logger, io.Closer, error) {
	if c.LogOff {
		return slog.New(slog.DiscardHandler), nil, nil
	}
	var w io.Writer = os.Stderr
	var closer io.Closer
	if c.LogPath != "" {
		f, err := os.OpenFile(c.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, &ConfigError{Var: EnvLog, Value: c.LogPath, Err: err}
		}
		w, closer = f, f
	}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: c.LogLevel})
	return slog.New(h).With("component", "mvnet"), closer, nil
}
