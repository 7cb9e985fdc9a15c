package kernel

import (
	"fmt"
	"strings"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// Support says how completely mvnet implements a system call.
type Support int

const (
	// None: declared by Microvisor's header, not implemented yet.
	None Support = iota
	// Stub: accepts the call and answers plausibly without the real effect.
	Stub
	// Partial: implemented with documented gaps.
	Partial
	// Full: every status and behaviour spec/abi.md describes.
	Full
)

func (s Support) String() string {
	switch s {
	case Full:
		return "full"
	case Partial:
		return "partial"
	case Stub:
		return "stub"
	default:
		return "none"
	}
}

// Args are a system call's arguments as register-sized words: addresses,
// handles and integers in declaration order.
type Args [4]uint64

// Handler runs one system call.
type Handler func(k *Kernel, a *Args) abi.Status

// Syscall is one row of the syscall table.
type Syscall struct {
	Name    string
	Family  string
	Handler Handler // nil when Support is None
	Support Support
	Note    string
}

func addr(v uint64) mem.Addr { return mem.Addr(v) }
func u32(v uint64) uint32    { return uint32(v) }

// hnd converts a handle passed by value. On the 64-bit host ABI handles are
// pointer-sized; a value that does not fit 32 bits is never a live handle,
// so it becomes 0 (always invalid) rather than aliasing one by truncation.
func hnd(v uint64) uint32 {
	if v > 0xFFFFFFFF {
		return 0
	}
	return uint32(v)
}

// table is the syscall table: every network-related call of Microvisor's
// header, in the header's order within each family, and the few other calls
// whose behaviour lives in the kernel (system notifications, the test
// trigger).
var table = []Syscall{
	{"mvGetMicroseconds", "time", func(k *Kernel, a *Args) abi.Status { return k.GetMicroseconds(addr(a[0])) }, Full, "µs since kernel boot (monotonic)"},
	{"mvGetWallTime", "time", func(k *Kernel, a *Args) abi.Status { return k.GetWallTime(addr(a[0])) }, Full, "TIMENOTSET until the cloud's WELCOME (or TIME) sets the clock; a time of 0 (the cloud has none, e.g. a clock-unset fault) or past year 10000 is ignored (the clock stays as it was)"},
	{"mvGetDeviceId", "identity", func(k *Kernel, a *Args) abi.Status { return k.GetDeviceID(addr(a[0]), u32(a[1])) }, Full, "34 bytes: UV + 32 hex digits"},

	{"mvSetupNotifications", "notifications", func(k *Kernel, a *Args) abi.Status { return k.SetupNotifications(addr(a[0]), addr(a[1])) }, Full, "32 centres; IRQ 0–124, one per centre; overruns counted"},
	{"mvCloseNotifications", "notifications", func(k *Kernel, a *Args) abi.Status { return k.CloseNotifications(addr(a[0])) }, Full, ""},

	{"mvRequestNetwork", "network", func(k *Kernel, a *Args) abi.Status { return k.RequestNetwork(addr(a[0]), addr(a[1])) }, Full, "128 handles; CONNECTING then CONNECTED, each notified"},
	{"mvReleaseNetwork", "network", func(k *Kernel, a *Args) abi.Status { return k.ReleaseNetwork(addr(a[0])) }, Full, "link goes down with the last handle"},
	{"mvGetNetworkStatus", "network", func(k *Kernel, a *Args) abi.Status { return k.GetNetworkStatus(hnd(a[0]), addr(a[1])) }, Full, ""},
	{"mvGetNetworkReasons", "network", func(k *Kernel, a *Args) abi.Status { return k.GetNetworkReasons(addr(a[0]), addr(a[1])) }, Partial, "reports USINGNETWORK, NEVERUSEDNETWORKAPI and RTCNOTSET; other reasons never arise"},

	{"mvOpenChannel", "channels", func(k *Kernel, a *Args) abi.Status { return k.OpenChannel(addr(a[0]), addr(a[1])) }, Partial, "OPAQUEBYTES, HTTP, MQTT and CONFIGFETCH; version ≠ 1 and rings overlapping other rings are PARAMETERFAULT; the cloud serves rings up to 1 MiB by default"},
	{"mvCloseChannel", "channels", func(k *Kernel, a *Args) abi.Status { return k.CloseChannel(addr(a[0])) }, Full, "send buffer zeroed and unprotected"},
	{"mvGetChannelClosureReason", "channels", func(k *Kernel, a *Args) abi.Status { return k.GetChannelClosureReason(hnd(a[0]), addr(a[1])) }, Full, ""},
	{"mvReadChannel", "channels (deprecated)", func(k *Kernel, a *Args) abi.Status { return k.ReadChannel(hnd(a[0]), addr(a[1]), addr(a[2])) }, Full, "OPAQUEBYTES only; the cloud echoes"},
	{"mvReadChannelComplete", "channels (deprecated)", func(k *Kernel, a *Args) abi.Status { return k.ReadChannelComplete(hnd(a[0]), u32(a[1])) }, Full, "consumed beyond the unread count is clamped"},
	{"mvWriteChannel", "channels (deprecated)", func(k *Kernel, a *Args) abi.Status {
		return k.WriteChannel(hnd(a[0]), addr(a[1]), u32(a[2]), addr(a[3]))
	}, Full, "all or nothing"},
	{"mvWriteChannelStream", "channels (deprecated)", func(k *Kernel, a *Args) abi.Status {
		return k.WriteChannelStream(hnd(a[0]), addr(a[1]), u32(a[2]), addr(a[3]))
	}, Full, "partial writes"},

	{"mvSendHttpRequest", "http", func(k *Kernel, a *Args) abi.Status { return k.SendHTTPRequest(hnd(a[0]), addr(a[1])) }, Full, "one accepted request per channel; 32 headers"},
	{"mvReadHttpResponseData", "http", func(k *Kernel, a *Args) abi.Status { return k.ReadHTTPResponseData(hnd(a[0]), addr(a[1])) }, Full, ""},
	{"mvReadHttpResponseHeader", "http", func(k *Kernel, a *Args) abi.Status {
		return k.ReadHTTPResponseHeader(hnd(a[0]), u32(a[1]), addr(a[2]), u32(a[3]))
	}, Full, ""},
	{"mvReadHttpResponseBody", "http", func(k *Kernel, a *Args) abi.Status {
		return k.ReadHTTPResponseBody(hnd(a[0]), u32(a[1]), addr(a[2]), u32(a[3]))
	}, Full, "offset == body_length copies nothing; beyond it is OFFSETINVALID"},

	{"mvOpenSystemNotification", "system notifications", func(k *Kernel, a *Args) abi.Status {
		return k.OpenSystemNotification(addr(a[0]), addr(a[1]))
	}, Full, "NETWORK streams get NETWORKSTATUSCHANGED when the link comes up or goes down; UPDATE streams get UPDATEDOWNLOADED when the cloud announces an update (faults.AnnounceUpdate; in the C SDK, SIGUSR1 with MVNET_UPDATE_SIGNAL=1)"},
	{"mvCloseSystemNotification", "system notifications", func(k *Kernel, a *Args) abi.Status { return k.CloseSystemNotification(addr(a[0])) }, Full, ""},
	{"mvTempTriggerNotification", "debug", func(k *Kernel, a *Args) abi.Status {
		return k.TempTriggerNotification(hnd(a[0]), abi.EventType(u32(a[1])), u32(a[2]))
	}, Full, "posts a record to a centre, for testing interrupt handlers"},

	{"mvServerLoggingInit", "logging", func(k *Kernel, a *Args) abi.Status { return k.ServerLoggingInit(addr(a[0]), u32(a[1])) }, Full, "buffer 512-byte aligned, a non-zero multiple of 512 bytes, write-protected once given; a second call with another buffer is PARAMETERFAULT, with the same one a no-op"},
	{"mvServerLog", "logging", func(k *Kernel, a *Args) abi.Status { return k.ServerLog(addr(a[0]), uint16(a[1])) }, Full, "lines up to 512 bytes, each taking 2 + length bytes of the buffer until the cloud acknowledges it; sent over any link, Microvisor's own before the first mvRequestNetwork included; unacknowledged lines are re-sent in order on every new link and stored once (numbered from a random 64-bit start)"},
	{"mvSendConfigFetchRequest", "config", func(k *Kernel, a *Args) abi.Status { return k.SendConfigFetchRequest(hnd(a[0]), addr(a[1])) }, Full, "one request per channel; at most 16 keys; keys 1–100 bytes of printable ASCII (0x20–0x7e); the key checks come after REQUESTALREADYSENT, each over all keys; a response whose item count differs from the keys requested (none for RESPONSETOOLARGE) ends the channel (UNEXPECTEDLYTERMINATED, then CHANNELCLOSED)"},
	{"mvReadConfigFetchResponseData", "config", func(k *Kernel, a *Args) abi.Status {
		return k.ReadConfigFetchResponseData(hnd(a[0]), addr(a[1]))
	}, Full, "a handle that is no CONFIGFETCH channel is PARAMETERFAULT (no INVALIDHANDLE is listed); RESPONSETOOLARGE (no items) when the whole answer does not fit the receive buffer"},
	{"mvReadConfigResponseItem", "config", func(k *Kernel, a *Args) abi.Status { return k.ReadConfigResponseItem(hnd(a[0]), addr(a[1])) }, Full, "items in request order, each OK, KEYNOTFOUND or SERVERERROR; a value larger than buf.size is PARAMETERFAULT (no INVALIDBUFFERSIZE is listed), nothing written; items can be read again"},
	{"mvMqttGetNextReadableDataType", "mqtt", func(k *Kernel, a *Args) abi.Status {
		return k.MQTTGetNextReadableDataType(hnd(a[0]), addr(a[1]))
	}, Full, "the oldest readable item (responses, messages, lost-message reports in arrival order, one CHANNELDATAREADABLE each); NONE when there is none; CHANNELCLOSED once disconnected with nothing left to read"},
	{"mvMqttRequestConnect", "mqtt", func(k *Kernel, a *Args) abi.Status { return k.MQTTRequestConnect(hnd(a[0]), addr(a[1])) }, Full, "one per channel, whatever its outcome; an empty client ID needs clean_start; an unknown auth method is INVALIDAUTHENTICATION; an unknown protocol, keepalive over 65535, will QoS 2 or a request larger than the send buffer is accepted and answered by the kernel's CONNECTRESPONSE INVALIDPARAMETERS; a LATEFAULT on any request leaves the channel unusable (requests and acks then CHANNELCLOSED)"},
	{"mvMqttReadConnectResponse", "mqtt", func(k *Kernel, a *Args) abi.Status { return k.MQTTReadConnectResponse(hnd(a[0]), addr(a[1])) }, Full, "every read call: when the next item is of another kind, or there is none on a connected channel, PARAMETERFAULT and nothing is consumed (spec/abi.md lists no WRONGDATAREQUESTED for the read calls); a consumed ring item is credited back to the cloud"},
	{"mvMqttRequestSubscribe", "mqtt", func(k *Kernel, a *Args) abi.Status { return k.MQTTRequestSubscribe(hnd(a[0]), addr(a[1])) }, Full, "8 topics; one subscribe or unsubscribe in flight until its response is read, and no room in the send ring now, are RATELIMITED; before a completed connect (or after the session ended) the kernel answers the response NOTCONNECTED; QoS 2, rh over 2, an invalid filter or no topics: INVALIDPARAMETERS (response, no reason codes); a response from the cloud without one reason code per topic when completed (none otherwise; an unsubscribe's may have none) ends the channel (UNEXPECTEDLYTERMINATED) and the request completes NOTCONNECTED"},
	{"mvMqttReadSubscribeResponse", "mqtt", func(k *Kernel, a *Args) abi.Status { return k.MQTTReadSubscribeResponse(hnd(a[0]), addr(a[1])) }, Full, "reason_codes_size counts codes; too small is INVALIDBUFFERSIZE, nothing consumed"},
	{"mvMqttRequestUnsubscribe", "mqtt", func(k *Kernel, a *Args) abi.Status { return k.MQTTRequestUnsubscribe(hnd(a[0]), addr(a[1])) }, Full, "as mvMqttRequestSubscribe"},
	{"mvMqttReadUnsubscribeResponse", "mqtt", func(k *Kernel, a *Args) abi.Status {
		return k.MQTTReadUnsubscribeResponse(hnd(a[0]), addr(a[1]))
	}, Full, "as mvMqttReadSubscribeResponse"},
	{"mvMqttRequestPublish", "mqtt", func(k *Kernel, a *Args) abi.Status { return k.MQTTRequestPublish(hnd(a[0]), addr(a[1])) }, Full, "16 publishes in flight until their responses are read, and no room in the send ring now, are RATELIMITED; the kernel answers NOTCONNECTED before a completed connect and INVALIDPARAMETERS for QoS 2, a topic with wildcards or not UTF-8, or a request larger than the send buffer"},
	{"mvMqttReadPublishResponse", "mqtt", func(k *Kernel, a *Args) abi.Status { return k.MQTTReadPublishResponse(hnd(a[0]), addr(a[1])) }, Full, "QoS 0: completed once the cloud wrote it to the broker; QoS 1: the PUBACK's reason"},
	{"mvMqttReceiveMessage", "mqtt", func(k *Kernel, a *Args) abi.Status { return k.MQTTReceiveMessage(hnd(a[0]), addr(a[1])) }, Full, "copied from the receive ring (wrapping) into the buffers given; topic or payload too big for its buffer is INVALIDBUFFERSIZE, nothing consumed"},
	{"mvMqttReceiveLostMessageInfo", "mqtt", func(k *Kernel, a *Args) abi.Status {
		return k.MQTTReceiveLostMessageInfo(hnd(a[0]), addr(a[1]))
	}, Full, "a message larger than the receive buffer: reason DEVICERECEIVEBUFFERTOOSMALL, its topic and length"},
	{"mvMqttAcknowledgeMessage", "mqtt", func(k *Kernel, a *Args) abi.Status { return k.MQTTAcknowledgeMessage(hnd(a[0]), u32(a[1])) }, Full, "relayed to the cloud, which sends PUBACKs in arrival order; RATELIMITED when the send ring has no room; dropped (OKAY) after the session ended"},
	{"mvMqttRequestDisconnect", "mqtt", func(k *Kernel, a *Args) abi.Status { return k.MQTTRequestDisconnect(hnd(a[0])) }, Full, "the kernel answers NOTCONNECTED when not connected; a second while one is in flight is merged into it; waits for send-ring room rather than fail; later requests are NOTCONNECTED"},
	{"mvMqttReadDisconnectResponse", "mqtt", func(k *Kernel, a *Args) abi.Status {
		return k.MQTTReadDisconnectResponse(hnd(a[0]), addr(a[1]))
	}, Full, "also news of the broker ending the session; on a lost connection every unanswered request completes NOTCONNECTED before CHANNELNOTCONNECTED"},
}

var byName = func() map[string]*Syscall {
	m := make(map[string]*Syscall, len(table))
	for i := range table {
		m[table[i].Name] = &table[i]
	}
	return m
}()

// Syscalls returns a copy of the syscall table.
func Syscalls() []Syscall { return append([]Syscall(nil), table...) }

// Lookup returns the table row for a system call name.
func Lookup(name string) (Syscall, bool) {
	s, ok := byName[name]
	if !ok {
		return Syscall{}, false
	}
	return *s, true
}

// Call runs a system call by name with raw arguments, as an emulator or a
// trace replayer would. It returns an error for an unknown or unimplemented
// call rather than inventing a status.
func (k *Kernel) Call(name string, args ...uint64) (abi.Status, error) {
	s, ok := byName[name]
	if !ok {
		return 0, fmt.Errorf("unknown system call %q", name)
	}
	if s.Handler == nil {
		return 0, fmt.Errorf("system call %s is not implemented yet", name)
	}
	if len(args) > len(Args{}) {
		return 0, fmt.Errorf("%s: %d arguments, at most %d", name, len(args), len(Args{}))
	}
	var a Args
	copy(a[:], args)
	return s.Handler(k, &a), nil
}

// SupportTable renders the table as Markdown (docs/syscalls.md is this
// output; a test keeps it current).
func SupportTable() string {
	var b strings.Builder
	b.WriteString("# System call support\n\n")
	b.WriteString("Generated from `kernel/table.go` and `csdk/process` by `mvnet syscalls --markdown`; do not edit.\n\n")
	b.WriteString("## The kernel\n\n")
	b.WriteString("| call | family | support | note |\n|---|---|---|---|\n")
	for _, s := range table {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Name, s.Family, s.Support, s.Note)
	}
	return b.String()
}
