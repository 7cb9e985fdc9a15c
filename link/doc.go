// Package link is the wire protocol between a device's kernel and the cloud.
//
// One link carries everything for one device: channel opens and closes,
// channel data under credit-based flow control, time synchronisation, and
// server logs. On a real deployment the link is one mutually
// authenticated TLS 1.3 connection per device; in-process the same frames
// run over a net.Pipe. The protocol is byte-oriented and does not depend on
// the transport.
//
// # Frames
//
// Every frame is
//
//	length u32 (big endian) | type u8 | body
//
// where length counts the type byte and the body, and is at most
// MaxFrameLen. All integers in frame bodies are big endian.
//
//	HELLO    (1) device→cloud  version u16 | device_id [34]byte
//	                           [| flags u8 | now_us u64]
//	                           The first frame on every link. The flags
//	                           part is there only when flags is not 0:
//	                           HelloVirtualClock (1), the device's time
//	                           is virtual and now_us is its time since
//	                           boot (see Virtual time).
//	WELCOME  (2) cloud→device  version u16 | wall_time_us u64
//	                           The answer to HELLO; it also sets the device's
//	                           wall clock (µs since the Unix epoch). 0 means
//	                           the cloud gives no time: the device's clock
//	                           stays as it was (not set, on a fresh device).
//	OPEN     (3) device→cloud  chan u32 | chan_type u8 | rx_size u32 |
//	                           tx_size u32 | endpoint (rest of the frame)
//	                           chan is the channel handle; chan_type an
//	                           MvChannelType; rx_size/tx_size the sizes of the
//	                           device's receive and send rings.
//	DATA     (4) both          chan u32 | payload (rest of the frame, ≥ 1 byte)
//	CREDIT   (5) both          chan u32 | bytes u32
//	CLOSE    (6) both          chan u32 | reason u8 (an MvClosureReason)
//	LOG      (7) device→cloud  seq u64 | text   one line of server logging,
//	                           text at most MaxLogLine (512) bytes
//	TIME     (8) cloud→device  wall_time_us u64 (0: no time, ignored)
//	CONTROL  (9) both          kind u8 | body (PING 1, PONG 2: token u64;
//	                           ERROR 3: UTF-8 text, the sender then closes;
//	                           UPDATE 4, cloud→device: UTF-8 text — an
//	                           application update was downloaded;
//	                           LOGACK 5, cloud→device: seq u64 — every log
//	                           line up to and including seq is stored;
//	                           LOGGING 6, cloud→device: u8 — 1 server
//	                           logging enabled, 0 disabled by the server;
//	                           DIAG 7, cloud→device: chan u32 | UTF-8
//	                           text of at most MaxDiagLen bytes — why the
//	                           cloud failed the channel's request;
//	                           GOAWAY 8, cloud→device: UTF-8 text of at
//	                           most MaxDiagLen bytes — this node is going
//	                           away: reconnect now, elsewhere;
//	                           SYNC 9, device→cloud: seq u64 | now_us u64;
//	                           SYNCED 10, cloud→device: seq u64 |
//	                           next_us u64 — see Virtual time)
//
// A frame is checked strictly: a fixed-size frame must have exactly its
// size, a variable one at least its fixed part, the type and the CONTROL
// kind must be known, DATA must carry at least one byte, HELLO a device
// ID of exactly 34 bytes, LOG at most MaxLogLine bytes of text and DIAG and
// GOAWAY at most MaxDiagLen. Anything else is malformed (ErrMalformed), and so
// is a length prefix of 0 or over MaxFrameLen. The encoding is canonical:
// a frame that parses re-encodes to the same bytes.
//
// # Session
//
// The device sends HELLO with its protocol version and device ID; the cloud
// answers WELCOME with its version and the wall time, or CONTROL ERROR and
// closes if it cannot serve the device (unknown version, unknown device).
// Nothing else is sent before HELLO and WELCOME. After that either side may
// send any frame its direction allows, in any order; TIME resynchronises the
// device's wall clock, and PING (answered by PONG with the same token)
// checks that the peer is alive. A side that receives a malformed frame or a
// frame that breaks the protocol's rules sends CONTROL ERROR saying why,
// and closes the link. Losing the link closes every channel on it.
//
// The cloud speaks exactly one version: a HELLO with another version is
// answered CONTROL ERROR "HELLO version N not supported (want M)" and the
// link closed, and a device closes a link whose WELCOME has another version
// than its own. There is no negotiation: the device reports the refusal as
// its link error and keeps redialling with backoff until one side is
// upgraded.
//
// # Keep-alive
//
// A stalled transport (a NAT that dropped the flow, a proxy that stopped
// forwarding) closes nothing, so both sides watch what they receive
// (Conn.KeepAlive): after a ping interval (default 15 s) without receiving
// a byte a side sends PING, and after an idle timeout (default 45 s)
// without receiving a byte it closes the link. Any frame — the PONG, or
// ordinary traffic — counts. The device then redials as after any lost
// link; its unacknowledged server log lines are sent again on the new link
// and stored once. Both sides answer PING at any time after WELCOME.
//
// # Virtual time
//
// An emulated firmware image in deterministic mode (mvnet run --firmware)
// runs on a virtual clock that advances only as it executes. Its kernel
// says so in HELLO (flag HelloVirtualClock, with its time now_us), and
// the cloud then keeps a clock for the device that advances only when the
// device says: to HELLO's now_us, and to each CONTROL SYNC's. What the
// cloud times for that device — a frame held by a latency fault, a
// fault's end, a request's timeout, a scenario's steps — runs on that
// clock, so it happens at the same virtual instant on every run.
//
// The device sends SYNC seq now_us at its sync points when it has sent
// anything since its last SYNC, or when its time has reached the last
// SYNCED's next_us; and, without waiting for the answer, right before any
// frame other than PING, PONG and SYNC when its time has moved since the
// last SYNC or HELLO it sent, so that every frame is dated: the cloud
// advances the device's clock to a SYNC's now_us as it reads the SYNC,
// before it reads the next frame, and what a frame sets in motion (a
// latency, a request's timeout) counts from there. Then the cloud runs
// what fell due, waits until it has answered — queued to the device —
// everything the device sent before the SYNC that it answers at once (an
// HTTP request's response, an MQTT request's acknowledgement, a log line's
// LOGACK; work in the real world, such as the upstream request, holds the
// device's clock until it is done), and sends SYNCED seq next_us: the
// device's time at which something is due next, or NoDeadline. The cloud
// answers every SYNC, in order; a SYNCED may thus answer an older SYNC
// than the one the device waits for, and only the answer to the newest
// ends its wait (a SYNCED for a seq the device never sent, or has had
// answered, is a protocol error). Frames are ordered, so every frame that
// precedes SYNCED is what the cloud owed the device by then; the device
// applies them all before it runs on, and runs no further than next_us
// before it syncs again. Input nobody asked for (an MQTT message from
// another client) is not waited for: it lands at whichever sync point
// follows it.
//
// A device whose HELLO gives a time behind the clock the cloud keeps for
// it (it booted again) is rebased: its time 0 moves up to the clock's
// time, and the clock goes on from there.
//
// A link without the flag runs on the wall clock, as before.
//
// # Going away
//
// A cloud node that is being stopped drains: it stops accepting links
// (a HELLO it receives meanwhile is refused by closing the link), and
// sends each device CONTROL GOAWAY with the reason, a few at a time so
// that the other nodes are not stampeded. A device that receives GOAWAY
// closes the link and treats it as lost (its channels are closed as for
// any lost link), but redials after a short random delay, below its first
// reconnect delay, without growing its backoff: a drain is not a failure.
// Its dial then moves on to another node. A GOAWAY on a link younger than
// the device's longest reconnect delay counts as a failure, as a link
// dropped right after WELCOME does, so a node that keeps saying GOAWAY
// cannot make a device redial in a tight loop. Every other redial waits a
// delay that doubles per failure up to a maximum, drawn at random between
// half of it and all of it ("equal jitter"), so that devices that lost
// their links at the same moment (a cloud restart) do not all come back
// at the same moment.
//
// # Diagnostics
//
// The application learns only an ABI result, such as
// MV_HTTPRESULT_REQUESTFAILED, or an MQTT request state. When the cloud
// fails a channel's HTTP request or MQTT connect it first sends CONTROL
// DIAG with the reason in a short human string ("outbound policy refused
// the target: …", "DNS lookup of HOST failed: no such host", "connection
// refused by HOST:PORT", "TLS certificate verification failed: …", "timed
// out: …"), then the response. A reason names the host:port the device
// asked for, never the address the cloud resolved it to (its Resolve
// overrides and internal addresses stay the cloud's). The device keeps the last reason per channel for
// its host (transcripts, traces, the Go device API); the application ABI
// is unchanged.
//
// # Channels
//
// A channel is named by its handle, chosen by the device. The device opens
// it with OPEN and either side closes it with CLOSE; the cloud sends CLOSE
// with a reason when it cannot open the channel or when the remote end goes
// away. After sending or receiving CLOSE a side sends no more DATA or
// CREDIT on the channel; frames already in flight for a closed channel are
// ignored.
//
// An HTTP or CONFIGFETCH channel carries one request and one response, so
// it ends with the response: once the cloud has sent the whole response it
// forgets the channel, and the device, which knows when the response is
// whole, sends no CLOSE for it when the application closes it (the channel
// stays open for the application until then, and a lost link still closes
// it). A CLOSE the device sent before the response arrived crossed it on
// the wire: the cloud ignores a CLOSE for a channel it does not know.
// This saves a frame, and on an otherwise idle link a TLS record, a write
// and a read, per request.
//
// # Server logs
//
// Each line the application logs (mvServerLog) travels in one LOG frame.
// The device numbers its lines: seq starts at a random 64-bit value at boot
// and increases by one per line (wrapping), so (device ID, seq) names a
// line uniquely and the cloud's store deduplicates on it. The device keeps
// every line in its log buffer until a LOGACK covers it, sends lines over
// whatever link is up — including the one Microvisor keeps before the
// application first requests a network — and, on every new link, sends
// the lines not yet acknowledged again, in order, before any new one. The
// cloud stores lines in the order they arrive and answers LOGACK with the
// last seq stored; a line it already holds is acknowledged without being
// stored twice. Right after WELCOME, and whenever it changes, the cloud
// sends LOGGING: while it says 0, mvServerLog refuses new lines
// (LOGGINGDISABLEDBYSERVER), and lines still arriving are acknowledged
// and dropped.
//
// # Flow control
//
// Each direction of each channel has a credit window in bytes. After OPEN the
// cloud may send rx_size bytes of DATA to the device and the device may send
// tx_size bytes of DATA to the cloud. A side that has consumed bytes grants
// them back with CREDIT. A side never sends DATA beyond its credit; data it
// cannot send yet waits at the sender (the cloud holds incoming data until the
// device's receive ring has room). Receiving DATA beyond the granted credit,
// or a CREDIT that would take the peer's credit above the window's size, is
// a protocol error. Window implements this accounting for either side.
// When a grant is sent is the granting side's choice: on a channel that
// carries one request (HTTP, CONFIGFETCH) the device can send nothing
// after it, so the cloud grants the request's bytes together with the
// response (in the same write), or after at most 100 ms if the response
// is slower, and not at all once the channel is closed.
//
// # Channel messages
//
// HTTP requests and responses travel as DATA inside a channel's byte stream,
// in the encodings of AppendHTTPRequest and AppendHTTPResponse; MQTT
// (mqtt_doc.go) and CONFIGFETCH (config.go) channels carry their own
// messages the same way. The same bytes
// are what the kernel writes into the device's send ring and what it reads
// from the receive ring, so ring sizes decide the same outcomes as on a device.
// Unlike frames, channel messages are little endian (the device's byte
// order). All lengths are u32:
//
//	request:  total | timeout_ms | method_len | url_len | num_headers |
//	          body_len | method | url | { header_len | header }* | body
//	response: total | result | status_code | num_headers | body_len |
//	          { header_len | header }* | body
//
// CONFIGFETCH channels (config.go) carry one request and one response,
// each total u32 | kind u8 | body, with str = len u32 | bytes:
//
//	request:  total | kind (1) | n u16 | { scope u8 | store u8 | key str }…
//	response: total | kind (0x81) | result u32 (MvConfigFetchResult) |
//	          n u16 | { result u8 (MvConfigKeyFetchResult) | value str }…
//
// Items answer keys in request order. When the whole response would not fit
// the device's receive ring the cloud sends result RESPONSETOOLARGE with no
// items.
//
// total counts every byte of the message, itself included, and the other
// lengths must account for exactly total bytes. A message may arrive in
// several DATA frames; the parsers return ErrShort until all of it is there.
// A receiver whose buffer is full while the parser still says ErrShort has a
// message larger than its buffer (the sender should never do that: it is the
// sender's job to refuse, e.g. with RESPONSETOOLARGE).
//
// # Transport
//
// Conn carries frames over any net.Conn. Its Send never waits for the peer:
// frames are queued and written by a goroutine of their own, so both sides
// of a synchronous net.Pipe may send from the goroutines that receive.
// Every frame queued when the writer takes the queue goes in one Write,
// so one TLS record up to its size (16 KiB); frames sent between
// Conn.Hold and Conn.Release go in one write that the releasing goroutine
// makes itself (the cloud's CREDIT with the response it rides with).
//
// Over the network the link is TLS 1.3 only (tls.go): ServerTLSConfig
// requires a client certificate from the cloud's device CA, ClientTLSConfig
// trusts only that CA, and a device certificate names its device
// (DeviceIDFromCert: CN and a URI SAN urn:mvnet:device:UV…). A link whose
// certificate names device A that says HELLO as device B is answered
// CONTROL ERROR and closed.
//
// # Versions
//
//	1  2026-11  first version: the frames above (CONTROL LOGACK and
//	            LOGGING, and CONFIGFETCH channel messages, were added
//	            before any release, without a version change).
//	2  2026-12  keep-alive: both sides send PING when idle and close a
//	            silent link; CONTROL DIAG (cloud→device) carries the reason
//	            for a failed request; a LOG line over MaxLogLine bytes is
//	            malformed (the cloud answers CONTROL ERROR instead of
//	            retrying a line its store refuses).
//	3  2026-12  wall_time_us 0 in WELCOME and TIME means "no time": the
//	            device leaves its wall clock as it was, so a device that
//	            never got a time answers mvGetWallTime TIMENOTSET (it was
//	            taken as 1970-01-01). The cloud sends 0 while a clock-unset
//	            fault is in force (cloud/faults).
//	4  2026-12  CONTROL GOAWAY (cloud→device): the node is draining;
//	            the device reconnects at once, elsewhere. A version 3
//	            device would take the new kind for a malformed frame:
//	            like every version, 4 and 3 do not talk to each other.
//	5  2026-12  an HTTP or CONFIGFETCH channel ends at the cloud with its
//	            whole response, and the device sends no CLOSE for it
//	            after that (see Channels). A version 4 cloud would keep
//	            such channels open, counting against the device's
//	            channels, until the link ends.
//	6  2026-12  virtual time: HELLO's optional flags/now_us part
//	            (HelloVirtualClock), CONTROL SYNC and SYNCED (see
//	            Virtual time). A device on the wall clock sends the
//	            36-byte HELLO, so a version 5 cloud still names the
//	            version it refuses.
package link
