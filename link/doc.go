// Package link is the wire protocol between a device's kernel and the cloud.
//
// One link carries everything for one device: channel opens and closes,
// channel data under credit-based flow control, time synchronisation, and
// (later) server logs. On a real deployment the link is one mutually
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
//	                           The first frame on every link.
//	WELCOME  (2) cloud→device  version u16 | wall_time_us u64
//	                           The answer to HELLO; it also sets the device's
//	                           wall clock (µs since the Unix epoch).
//	OPEN     (3) device→cloud  chan u32 | chan_type u8 | rx_size u32 |
//	                           tx_size u32 | endpoint (rest of the frame)
//	                           chan is the channel handle; chan_type an
//	                           MvChannelType; rx_size/tx_size the sizes of the
//	                           device's receive and send rings.
//	DATA     (4) both          chan u32 | payload (rest of the frame, ≥ 1 byte)
//	CREDIT   (5) both          chan u32 | bytes u32
//	CLOSE    (6) both          chan u32 | reason u8 (an MvClosureReason)
//	LOG      (7) device→cloud  seq u64 | text (reserved for server logging)
//	TIME     (8) cloud→device  wall_time_us u64
//	CONTROL  (9) both          kind u8 | body (PING 1, PONG 2: token u64;
//	                           ERROR 3: UTF-8 text, the sender then closes;
//	                           UPDATE 4, cloud→device: UTF-8 text — an
//	                           application update was downloaded)
//
// A frame is checked strictly: a fixed-size frame must have exactly its
// size, a variable one at least its fixed part, the type and the CONTROL
// kind must be known, DATA must carry at least one byte and HELLO a device
// ID of exactly 34 bytes. Anything else is malformed (ErrMalformed), and so
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
// # Channels
//
// A channel is named by its handle, chosen by the device. The device opens
// it with OPEN and either side closes it with CLOSE; the cloud sends CLOSE
// with a reason when it cannot open the channel or when the remote end goes
// away. After sending or receiving CLOSE a side sends no more DATA or
// CREDIT on the channel; frames already in flight for a closed channel are
// ignored.
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
//
// # Channel messages
//
// HTTP requests and responses travel as DATA inside a channel's byte stream,
// in the encodings of AppendHTTPRequest and AppendHTTPResponse. The same bytes
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
//
// # Versions
//
//	1  2026-11  first version: the frames above.
package link
