package mqttbridge

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/abi"
)

// Connect starts connecting to the broker; its Result (KindConnect) says
// how it went. Only the first Connect of a bridge is tried; later ones are
// ALREADYCONNECTED.
func (b *Bridge) Connect(p ConnectParams) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	if b.st != stIdle {
		b.resultLocked(Result{Kind: KindConnect, State: abi.MQTTRequestStateAlreadyConnected,
			Err: errors.New("mqttbridge: this bridge has already connected once")})
		return
	}
	b.st = stConnecting
	ctx, cancel := context.WithTimeout(b.o.Context, b.o.ConnectTimeout)
	b.cancel = cancel
	b.wg.Add(1)
	go b.connect(ctx, cancel, p)
}

// session is a connection that got a CONNACK.
type session struct {
	conn    net.Conn
	br      *bufio.Reader
	version byte
	connack *packets.Packet
}

func (b *Bridge) connect(ctx context.Context, cancel context.CancelFunc, p ConnectParams) {
	defer b.wg.Done()
	defer cancel()
	s, st, err := b.handshake(ctx, &p)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cancel = nil
	if b.closed {
		if s != nil {
			_ = s.conn.Close()
		}
		return
	}
	if err != nil {
		b.log.Debug("MQTT connect failed", "host", p.Host, "port", p.Port, "state", st, "err", err)
		b.resultLocked(Result{Kind: KindConnect, State: st, Err: err})
		b.st = stEnded
		close(b.endCh)
		return
	}
	code := s.connack.ReasonCode
	if code != 0 {
		// The broker refused: REQUESTCOMPLETED with its code, not connected.
		_ = s.conn.Close()
		b.log.Debug("MQTT broker refused connect", "host", p.Host, "port", p.Port, "code", code)
		b.resultLocked(Result{Kind: KindConnect, State: abi.MQTTRequestStateRequestCompleted, Reason: uint32(code),
			Err: fmt.Errorf("mqttbridge: broker refused the connection with code %#x", code)})
		b.st = stEnded
		close(b.endCh)
		return
	}
	b.startLocked(s, &p)
	b.resultLocked(Result{Kind: KindConnect, State: abi.MQTTRequestStateRequestCompleted})
}

// startLocked makes s the bridge's connection and starts its goroutines.
func (b *Bridge) startLocked(s *session, p *ConnectParams) {
	b.conn, b.version, b.st = s.conn, s.version, stConnected
	props := &s.connack.Properties
	b.limits = brokerLimits{receiveMax: 65535, maxQoS: 2}
	if s.version == 5 {
		if props.ReceiveMaximum > 0 {
			b.limits.receiveMax = int(props.ReceiveMaximum)
		}
		if props.MaximumQosFlag {
			b.limits.maxQoS = props.MaximumQos
		}
		b.limits.noRetain = props.RetainAvailableFlag && props.RetainAvailable == 0
		b.limits.maxPacket = int(props.MaximumPacketSize)
	}
	keep := p.Keepalive
	if s.version == 5 && props.ServerKeepAliveFlag {
		keep = props.ServerKeepAlive // MQTT 5 §3.2.2.3.14: the client must use it
	}
	b.keepalive = time.Duration(keep) * time.Second
	b.pingWait = b.o.PingTimeout
	if b.pingWait == 0 {
		b.pingWait = min(b.keepalive, maxPingTimeout)
	}
	now := time.Now()
	b.lastWrite, b.lastRead = now, now
	b.wg.Add(2)
	go b.readLoop(s.conn, s.br, s.version)
	go b.writeLoop(s.conn)
	if b.keepalive > 0 {
		b.wg.Add(1)
		go b.keepaliveLoop()
	}
	b.log.Debug("MQTT connected", "host", p.Host, "port", p.Port, "version", s.version,
		"session_present", s.connack.SessionPresent, "keepalive", b.keepalive)
}

// handshake validates p, dials, speaks TLS if asked and exchanges CONNECT and
// CONNACK. Errors come with the request state they map to.
func (b *Bridge) handshake(ctx context.Context, p *ConnectParams) (*session, abi.MQTTRequestState, error) {
	connect, err := b.connectPacket(p)
	if err != nil {
		return nil, abi.MQTTRequestStateInvalidParameters, err
	}
	creds := p.TLS
	// issue 9: the production service requires TLS on all connections;
	// plain TCP without credentials (seed 004) only with the opt-in.
	implicit := creds == nil && !b.o.Plaintext
	if implicit {
		creds = &Credentials{}
	}
	var tconf *tls.Config
	if creds != nil {
		if tconf, err = tlsConfig(p.Host, creds, b.o.RootCAs); err != nil {
			return nil, abi.MQTTRequestStateInvalidParameters, err
		}
	}
	raw, err := encode(connect)
	if err != nil {
		return nil, abi.MQTTRequestStateInvalidParameters, err
	}
	conn, err := b.o.Connect(ctx, net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))), tconf)
	if err != nil {
		var herr *HandshakeError
		if errors.As(err, &herr) {
			if implicit && ctx.Err() == nil {
				ierr := &ImplicitTLSError{Err: herr.Err}
				b.log.Warn("MQTT connect failed", "host", p.Host, "port", p.Port, "err", ierr)
				return nil, abi.MQTTRequestStateSocketError, ierr
			}
			err = herr.Err
			if ctx.Err() == context.DeadlineExceeded {
				err = fmt.Errorf("mqttbridge: no CONNACK within %v: %w", b.o.ConnectTimeout, err)
			}
		}
		return nil, classify(err), err
	}
	fail := func(err error) (*session, abi.MQTTRequestState, error) {
		_ = conn.Close()
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("mqttbridge: no CONNACK within %v: %w", b.o.ConnectTimeout, err)
		}
		return nil, classify(err), err
	}
	// Reading and writing stop when ctx ends (timeout or Close).
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	if _, err := conn.Write(raw); err != nil {
		stop()
		return fail(alertOr(conn, err))
	}
	br := bufio.NewReaderSize(conn, 16<<10)
	in, err := readPacket(br, connect.ProtocolVersion, b.o.MaxPayload)
	if !stop() {
		// ctx ended: the deadline may already be set; the connect failed.
		if err == nil {
			err = ctx.Err()
		}
		return fail(err)
	}
	if err != nil {
		return fail(err)
	}
	if in.pk.FixedHeader.Type != packets.Connack {
		return fail(fmt.Errorf("mqttbridge: broker sent %s before CONNACK", packetName(in.pk.FixedHeader.Type)))
	}
	return &session{conn: conn, br: br, version: connect.ProtocolVersion, connack: &in.pk}, abi.MQTTRequestStateRequestCompleted, nil
}

// connectPacket validates p and builds its CONNECT.
func (b *Bridge) connectPacket(p *ConnectParams) (*packets.Packet, error) {
	bad := func(format string, args ...any) (*packets.Packet, error) {
		return nil, fmt.Errorf("mqttbridge: connect: "+format, args...)
	}
	var version byte
	switch p.Version {
	case abi.MQTTProtocolVersionV311:
		version = 4
	case abi.MQTTProtocolVersionV5:
		version = 5
	default:
		return bad("protocol version %d is neither 3.1.1 (0) nor 5 (1)", p.Version)
	}
	switch {
	case p.Host == "":
		return bad("no host")
	case p.Port == 0:
		return bad("port 0")
	case !validString(p.ClientID):
		return bad("client ID is not a valid MQTT string")
	}
	pk := &packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: version,
		Connect: packets.ConnectParams{
			ProtocolName:     []byte("MQTT"),
			ClientIdentifier: p.ClientID,
			Keepalive:        p.Keepalive,
			Clean:            p.CleanStart,
		},
	}
	if version == 5 && !p.CleanStart {
		pk.Properties.SessionExpiryInterval = b.o.SessionExpiry
		pk.Properties.SessionExpiryIntervalFlag = true
	}
	switch p.Auth {
	case abi.MQTTAuthenticationMethodNone:
	case abi.MQTTAuthenticationMethodUsernamePassword:
		if !validString(p.Username) || len(p.Password) > 0xFFFF {
			return bad("user name is not a valid MQTT string or password is over 65535 bytes")
		}
		pk.Connect.UsernameFlag, pk.Connect.Username = true, []byte(p.Username)
		pk.Connect.PasswordFlag, pk.Connect.Password = true, p.Password
	default:
		return bad("authentication method %d", p.Auth)
	}
	if w := p.Will; w != nil {
		switch {
		case !ValidTopicName(w.Topic):
			return bad("will topic %q is not a valid topic name", w.Topic)
		case w.QoS > 1:
			return bad("will QoS %d (QoS 2 is not supported)", w.QoS)
		case len(w.Payload) > 0xFFFF:
			return bad("will payload of %d bytes (at most 65535)", len(w.Payload))
		}
		pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillPayload = true, w.Topic, w.Payload
		pk.Connect.WillQos, pk.Connect.WillRetain = w.QoS, w.Retain
	}
	return pk, nil
}

// ImplicitTLSError is the failed TLS handshake of a connect without
// credentials (TLS by default): its text names the plaintext opt-in, for a
// broker that speaks plain TCP.
type ImplicitTLSError struct{ Err error }

func (e *ImplicitTLSError) Error() string {
	// Short: the session relays it to the device as a diagnostic
	// (link.MaxDiagLen).
	return "TLS failed (no tls_credentials: TLS by default; a plain-TCP broker needs --mqtt-plaintext or MVNET_MQTT_PLAINTEXT=1): " + e.Err.Error()
}

func (e *ImplicitTLSError) Unwrap() error { return e.Err }

// tlsConfig builds the client TLS configuration for host from c; roots
// verify the broker when c names no CA (nil: the system roots).
func tlsConfig(host string, c *Credentials, roots *x509.CertPool) (*tls.Config, error) {
	if len(c.CACerts) > MaxChainCerts || len(c.ClientCerts) > MaxChainCerts {
		return nil, fmt.Errorf("mqttbridge: %d CA and %d client certificates (at most %d per chain)", len(c.CACerts), len(c.ClientCerts), MaxChainCerts)
	}
	conf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, RootCAs: roots}
	if len(c.CACerts) > 0 {
		conf.RootCAs = x509.NewCertPool()
		for i, der := range c.CACerts {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("mqttbridge: CA certificate %d: %w", i, err)
			}
			conf.RootCAs.AddCert(cert)
		}
	}
	if len(c.ClientCerts) > 0 {
		leaf, err := x509.ParseCertificate(c.ClientCerts[0])
		if err != nil {
			return nil, fmt.Errorf("mqttbridge: client certificate: %w", err)
		}
		for i, der := range c.ClientCerts[1:] {
			if _, err := x509.ParseCertificate(der); err != nil {
				return nil, fmt.Errorf("mqttbridge: client chain certificate %d: %w", i+1, err)
			}
		}
		key, err := ParseKey(c.Key)
		if err != nil {
			return nil, err
		}
		pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(leaf.PublicKey) {
			return nil, errors.New("mqttbridge: the client key does not match the client certificate")
		}
		conf.Certificates = []tls.Certificate{{Certificate: c.ClientCerts, PrivateKey: key, Leaf: leaf}}
	}
	return conf, nil
}

// ParseKey parses a DER private key: PKCS#8 (RSA, ECDSA or Ed25519), PKCS#1
// (RSA) or SEC1 (EC).
func ParseKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("mqttbridge: client key: unsupported PKCS#8 key type %T", k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("mqttbridge: client key is not a PKCS#8, PKCS#1 or SEC1 DER private key")
}

// TLSStater is a broker stream over TLS, possibly wrapped by a layer
// (Options.Connect, cloud.MQTTOptions.WrapConnect): a layer that wraps a
// TLS stream keeps this method (delegating to the stream it wraps) so the
// bridge still knows the stream is TLS.
type TLSStater interface {
	ConnectionState() tls.ConnectionState
}

// alertOr returns the TLS alert the broker sent, if it sent one, else err.
// In TLS 1.3 the broker judges the client certificate after the client's
// handshake is done, so a refusal can make the CONNECT write fail (the
// broker closed with CONNECT unread: connection reset) while its alert,
// which names the reason, waits to be read.
func alertOr(conn net.Conn, err error) error {
	// A TLS stream, possibly wrapped by a layer (Options.Connect).
	if _, ok := conn.(TLSStater); !ok {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	var buf [1]byte
	if _, rerr := conn.Read(buf[:]); rerr != nil && classify(rerr) != abi.MQTTRequestStateSocketError {
		return rerr
	}
	return err
}

// classify maps a failed connect to its request state.
func classify(err error) abi.MQTTRequestState {
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var opErr *net.OpError
	switch {
	case errors.As(err, &dnsErr):
		return abi.MQTTRequestStateNXDomain
	case errors.As(err, &unknownCA):
		return abi.MQTTRequestStateUnknownCA
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return abi.MQTTRequestStateCertificateExpired
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// A TLS alert from the broker about our certificate. crypto/tls
		// does not export the alert type; its text is stable.
		switch opErr.Err.Error() {
		case "tls: unknown certificate authority":
			return abi.MQTTRequestStateUnknownCA
		case "tls: expired certificate":
			return abi.MQTTRequestStateCertificateExpired
		}
	}
	return abi.MQTTRequestStateSocketError
}
