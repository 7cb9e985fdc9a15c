package abi

// This file describes every structure of Microvisor's header as an ordered
// list of typed fields: the 32 of spec/abi.md, "Structures", and the few
// more that non-network calls of the same header take (marked notInSpec).
// Layouts for each ABI are computed from it (layout.go) and the C header's
// declarations are rendered from it; nothing else states an offset or a
// field. Descriptions are ours.

// fieldDesc is one declared field of a structure.
type fieldDesc struct {
	name    string
	kind    Kind
	ctype   string      // C type of a leaf; the tag of a nested struct
	members []fieldDesc // KindUnion only: the fields of struct v1
	note    string      // one line, our own words
}

// d sets the field's description.
func (f fieldDesc) d(note string) fieldDesc { f.note = note; return f }

// structDesc is one structure: its C tag, its fields in order, a
// description, and whether spec/abi.md lists it.
type structDesc struct {
	name      string
	doc       string
	fields    []fieldDesc
	notInSpec bool // declared by the header for a non-network call only
}

func st(name, doc string, fs ...fieldDesc) structDesc {
	return structDesc{name: name, doc: doc, fields: fs}
}

// extra is a structure spec/abi.md does not list: the published header
// declares it for a non-network call. Its layouts follow the same rules.
func extra(name, doc string, fs ...fieldDesc) structDesc {
	sd := st(name, doc, fs...)
	sd.notInSpec = true
	return sd
}

func u8(n string) fieldDesc  { return fieldDesc{name: n, kind: KindU8, ctype: "uint8_t"} }
func u16(n string) fieldDesc { return fieldDesc{name: n, kind: KindU16, ctype: "uint16_t"} }
func u32(n string) fieldDesc { return fieldDesc{name: n, kind: KindU32, ctype: "uint32_t"} }
func u64(n string) fieldDesc { return fieldDesc{name: n, kind: KindU64, ctype: "uint64_t"} }

// ptr is a data pointer; ctype is the full C pointer type.
func ptr(n, ctype string) fieldDesc { return fieldDesc{name: n, kind: KindPointer, ctype: ctype} }

// handle is an opaque handle: a pointer typedef in the C header, so
// pointer-sized, though its value is 32 bits on the device.
func handle(n, typedef string) fieldDesc {
	if !isHandleType(typedef) {
		panic("abi: struct field " + n + " names unknown handle type " + typedef)
	}
	return fieldDesc{name: n, kind: KindHandle, ctype: typedef}
}

// enum is a field of enum type tag; the table decides whether the enum is
// one the device compiler shortens to 1 byte.
func enum(n, tag string) fieldDesc {
	k := KindEnum
	if e, ok := enumByCName(tag); !ok {
		panic("abi: struct field " + n + " names unknown enum " + tag)
	} else if e.Size == 1 {
		k = KindEnum8
	}
	return fieldDesc{name: n, kind: k, ctype: "enum " + tag}
}

// nested is a structure held by value.
func nested(n, tag string) fieldDesc { return fieldDesc{name: n, kind: KindStruct, ctype: tag} }

// v1 is the versioned part of a structure: C declares it as an anonymous
// union holding one struct member named v1, so its fields are "v1.<name>".
func v1(fs ...fieldDesc) fieldDesc {
	return fieldDesc{name: "v1", kind: KindUnion, members: fs, note: "the fields of structure version 1"}
}

// version is the leading field of every versioned structure.
func version() fieldDesc {
	return u32("version").d("which member of the union follows; set it to 1")
}

// mqttReasonCodesResponse is the shared shape of the subscribe and
// unsubscribe responses.
func mqttReasonCodesResponse(name, doc string) structDesc {
	return st(name, doc,
		ptr("request_state", "enum MvMqttRequestState *").d("receives the outcome of the request"),
		ptr("correlation_id", "uint32_t *").d("receives the correlation ID the request carried"),
		ptr("reason_codes", "uint32_t *").d("receives one broker reason code per topic"),
		u32("reason_codes_size").d("how many reason codes reason_codes can hold (a count, not bytes)"),
		ptr("reason_codes_len", "uint32_t *").d("receives how many reason codes were written"))
}

// structTable lists the structures in header order; a nested structure is
// always listed before the first structure that holds it.
var structTable = []structDesc{
	st("MvNotification", "one record of a notification ring, written by the system",
		u64("microseconds").d("when the event happened, on the mvGetMicroseconds clock"),
		enum("event_type", "MvEventType").d("what happened"),
		u32("tag").d("the tag the application chose for the source of the event")),
	st("MvNotificationSetup", "what mvSetupNotifications needs to create a notification centre",
		u32("irq").d("the interrupt the system pends after writing a record"),
		ptr("buffer", "struct MvNotification *").d("the ring the records are written into"),
		u32("buffer_size").d("size of the ring in bytes: at least 32, a multiple of 16")),
	st("MvRequestNetworkParams", "what mvRequestNetwork needs",
		version(),
		v1(handle("notification_handle", "MvNotificationHandle").d("the centre that receives network status changes"),
			u32("notification_tag").d("tag of those notifications"))),
	st("MvSizedString", "a byte string given by pointer and length; no terminator needed",
		ptr("data", "const uint8_t *").d("the bytes"),
		u32("length").d("how many bytes")),
	st("MvOpenChannelParams", "what mvOpenChannel needs",
		version(),
		v1(handle("notification_handle", "MvNotificationHandle").d("the centre that receives the channel's events"),
			u32("notification_tag").d("tag of those notifications"),
			handle("network_handle", "MvNetworkHandle").d("the network the channel runs over"),
			ptr("receive_buffer", "uint8_t *").d("ring for incoming data: 512-byte aligned"),
			u32("receive_buffer_len").d("its size: a multiple of 512 bytes"),
			ptr("send_buffer", "uint8_t *").d("ring for outgoing data: 512-byte aligned, read-only while open"),
			u32("send_buffer_len").d("its size: a multiple of 512 bytes"),
			enum("channel_type", "MvChannelType").d("the protocol the channel carries"),
			nested("endpoint", "MvSizedString").d("reserved: must be empty"))),
	// spec/abi.md: length comes first, unlike MvSizedString.
	st("MvHttpHeader", "one request header, \"Name: value\", given by length then pointer",
		u32("length").d("how many bytes"),
		ptr("data", "const uint8_t *").d("the bytes")),
	st("MvHttpRequest", "an HTTP request for mvSendHttpRequest",
		nested("method", "MvSizedString").d("GET, POST, PUT, PATCH, HEAD, DELETE or OPTIONS"),
		nested("url", "MvSizedString").d("the URL; only https:// is served"),
		u32("num_headers").d("how many entries headers holds"),
		ptr("headers", "const struct MvHttpHeader *").d("the request headers"),
		nested("body", "MvSizedString").d("the request body, possibly empty"),
		u32("timeout_ms").d("how long the cloud waits for the response: 5000 to 10000 ms")),
	st("MvHttpResponseData", "the outcome of an HTTP request, read with mvReadHttpResponseData",
		enum("result", "MvHttpResult").d("the cloud's verdict; the other fields are valid only when OK"),
		u32("status_code").d("the server's HTTP status"),
		u32("num_headers").d("how many response headers can be read"),
		u32("body_length").d("size of the response body in bytes")),
	st("MvConfigKeyToFetch", "one key of a config fetch",
		enum("scope", "MvConfigKeyFetchScope").d("account-wide or this device only"),
		enum("store", "MvConfigKeyFetchStore").d("the config store or the secret store"),
		nested("key", "MvSizedString").d("the key's name, printable ASCII")),
	st("MvConfigKeyFetchParams", "the keys a config fetch asks for",
		u32("num_items").d("how many entries keys_to_fetch holds"),
		ptr("keys_to_fetch", "const struct MvConfigKeyToFetch *").d("the keys")),
	st("MvConfigResponseData", "the outcome of a whole config fetch",
		enum("result", "MvConfigFetchResult").d("whether the answer arrived whole"),
		u32("num_items").d("how many items can be read, in request order")),
	st("MvSizedStringBuffer", "a buffer the system fills, reporting how much it wrote",
		ptr("data", "uint8_t *").d("where the bytes go"),
		u32("size").d("capacity of data in bytes"),
		ptr("length", "uint32_t *").d("receives how many bytes were written")),
	st("MvConfigResponseReadItemParams", "what mvReadConfigResponseItem needs to copy out one item",
		u32("item_index").d("which item, counting from 0 in request order"),
		ptr("result", "enum MvConfigKeyFetchResult *").d("receives the outcome for that key"),
		nested("buf", "MvSizedStringBuffer").d("receives the value")),
	st("MvUsernamePassword", "a user name and password pair",
		nested("username", "MvSizedString").d("the user name"),
		nested("password", "MvSizedString").d("the password")),
	st("MvMqttAuthentication", "how an MQTT client authenticates to its broker",
		enum("method", "MvMqttAuthenticationMethod").d("which credentials follow"),
		nested("username_password", "MvUsernamePassword").d("used with USERNAMEPASSWORD")),
	st("MvTlsCertificateChain", "a list of DER certificates",
		u32("num_certs").d("how many entries certs holds (at most 8)"),
		ptr("certs", "const struct MvSizedString *").d("the certificates")),
	st("MvOwnTlsCertificateChain", "a client certificate chain with its private key",
		nested("chain", "MvTlsCertificateChain").d("the certificates"),
		nested("key", "MvSizedString").d("the DER private key")),
	st("MvTlsCredentials", "the TLS material of an MQTT connection",
		nested("cacert", "MvTlsCertificateChain").d("certificates trusted to sign the broker's"),
		nested("clientcert", "MvOwnTlsCertificateChain").d("the client's own certificate, if any")),
	st("MvMqttWill", "the message the broker publishes if the client vanishes",
		nested("topic", "MvSizedString").d("where it is published"),
		nested("payload", "MvSizedString").d("what is published"),
		u32("qos").d("its quality of service, 0 or 1"),
		u8("retain").d("non-zero to make it the topic's retained message")),
	st("MvMqttConnectRequest", "what mvMqttRequestConnect needs",
		enum("protocol_version", "MvMqttProtocolVersion").d("3.1.1 or 5"),
		nested("host", "MvSizedString").d("the broker's host name or address"),
		u16("port").d("the broker's TCP port"),
		nested("clientid", "MvSizedString").d("the MQTT client identifier"),
		nested("authentication", "MvMqttAuthentication").d("credentials sent in CONNECT"),
		ptr("tls_credentials", "const struct MvTlsCredentials *").d("TLS trust and client certificate"),
		u32("keepalive").d("keep-alive interval in seconds"),
		u8("clean_start").d("non-zero to start a fresh session"),
		ptr("will", "const struct MvMqttWill *").d("the will message, or NULL for none")),
	st("MvMqttConnectResponse", "the answer to a connect request",
		enum("request_state", "MvMqttRequestState").d("the outcome"),
		u32("reason_code").d("the broker's reason code")),
	st("MvMqttSubscription", "one topic filter of a subscribe request",
		nested("topic", "MvSizedString").d("the topic filter"),
		u32("desired_qos").d("the highest quality of service wanted, 0 or 1"),
		u32("nl").d("MQTT 5 no-local flag"),
		u32("rap").d("MQTT 5 retain-as-published flag"),
		u32("rh").d("MQTT 5 retain-handling option")),
	st("MvMqttSubscribeRequest", "what mvMqttRequestSubscribe needs",
		u32("correlation_id").d("echoed in the response"),
		ptr("subscriptions", "const struct MvMqttSubscription *").d("the topic filters"),
		u32("num_subscriptions").d("how many entries subscriptions holds (at most 8)")),
	mqttReasonCodesResponse("MvMqttSubscribeResponse", "where mvMqttReadSubscribeResponse puts the answer"),
	st("MvMqttUnsubscribeRequest", "what mvMqttRequestUnsubscribe needs",
		u32("correlation_id").d("echoed in the response"),
		ptr("topics", "const struct MvSizedString *").d("the topic filters to drop"),
		u32("num_topics").d("how many entries topics holds (at most 8)")),
	mqttReasonCodesResponse("MvMqttUnsubscribeResponse", "where mvMqttReadUnsubscribeResponse puts the answer"),
	st("MvMqttPublishRequest", "what mvMqttRequestPublish needs",
		u32("correlation_id").d("echoed in the response"),
		nested("topic", "MvSizedString").d("where to publish"),
		nested("payload", "MvSizedString").d("what to publish"),
		u32("desired_qos").d("quality of service, 0 or 1"),
		u32("retain").d("non-zero to make it the topic's retained message")),
	st("MvMqttPublishResponse", "the answer to a publish request",
		enum("request_state", "MvMqttRequestState").d("the outcome"),
		u32("correlation_id").d("the request's correlation ID"),
		u32("reason_code").d("the broker's reason code (always 0 with MQTT 3.1.1)")),
	st("MvMqttMessage", "where mvMqttReceiveMessage puts an incoming message",
		ptr("correlation_id", "uint32_t *").d("receives the ID to acknowledge the message with"),
		nested("topic", "MvSizedStringBuffer").d("receives the topic"),
		nested("payload", "MvSizedStringBuffer").d("receives the payload"),
		ptr("qos", "uint32_t *").d("receives the quality of service; 1 needs an acknowledgement"),
		ptr("retain", "uint8_t *").d("receives whether it is a retained message")),
	st("MvMqttLostMessageInfo", "where mvMqttReceiveLostMessageInfo reports a dropped message",
		ptr("reason", "enum MvMqttLostMessageReason *").d("receives why it was dropped"),
		nested("topic", "MvSizedStringBuffer").d("receives its topic"),
		ptr("message_len", "uint32_t *").d("receives its payload length")),
	st("MvMqttDisconnectResponse", "the answer to a disconnect request, or news of a disconnect",
		enum("request_state", "MvMqttRequestState").d("the outcome"),
		u32("disconnect_code").d("the broker's disconnect reason code")),
	st("MvOpenSystemNotificationParams", "what mvOpenSystemNotification needs",
		handle("notification_handle", "MvNotificationHandle").d("the centre that receives the events"),
		u32("notification_tag").d("tag of those notifications"),
		enum("notification_source", "MvSystemNotificationSource").d("which events to deliver")),
	extra("MvExternalFlashInfo", "what mvExternalFlashGetInfo reports about the external flash",
		version(),
		v1(u32("chip_id").d("the flash chip's identifier"),
			u32("size").d("bytes of flash the application may use"),
			u32("num_handles").d("how many external flash handles are open"))),
	extra("MvWifiConfig", "new Wi-Fi settings for mvSetWifiConfig",
		version(),
		v1(enum("config_mode", "MvWifiConfigMode").d("apply these settings or clear the stored ones"),
			nested("wifi_ssid", "MvSizedString").d("the network name"),
			nested("wifi_password", "MvSizedString").d("the network password"))),
	extra("MvWifiConfigOut", "where mvGetWifiConfig reports the current Wi-Fi settings",
		version(),
		v1(nested("ssid", "MvSizedStringBuffer").d("receives the network name"),
			ptr("has_encryption", "uint8_t *").d("receives whether the network uses a password"))),
}

// HandleType is one opaque handle type of the header. In C it is a pointer
// to an incomplete structure, so it is pointer-sized, can be compared with 0
// (and nullptr in C++), and cannot be confused with another handle type; the
// value the system stores in it is a 32-bit number, never zero.
type HandleType struct {
	Name string // e.g. "MvNotificationHandle"
	Doc  string // one line, our own words
}

// Opaque is the tag of the incomplete structure the handle points to, e.g.
// "MvNotificationHandleOpaque".
func (h HandleType) Opaque() string { return h.Name + "Opaque" }

var handleTable = []HandleType{
	{"MvNotificationHandle", "a notification centre"},
	{"MvNetworkHandle", "a request to keep the network up"},
	{"MvChannelHandle", "an open channel"},
	{"MvSystemEventHandle", "a stream of system notifications"},
	{"MvExternalFlashHandle", "an open view of the external flash"},
}

// Handles lists the handle types in header order.
func Handles() []HandleType { return append([]HandleType(nil), handleTable...) }

func isHandleType(name string) bool {
	for _, h := range handleTable {
		if h.Name == name {
			return true
		}
	}
	return false
}

// StructDecl is the declaration of one structure, as the C header states it.
type StructDecl struct {
	Name   string // C tag, e.g. "MvOpenChannelParams"
	Doc    string // one line, our own words
	InSpec bool   // listed in spec/abi.md; false for the few only non-network calls take
	Fields []FieldDecl
}

// FieldDecl is one declared field. A KindUnion field is the anonymous union
// of a versioned structure; Members are the fields of its struct v1.
type FieldDecl struct {
	Name    string
	Kind    Kind
	CType   string // see Field.CType; "" for the union
	Doc     string
	Members []FieldDecl
}

// StructDecls lists every structure's declaration in header order (nested
// structures before their holders). The result is a copy.
func StructDecls() []StructDecl {
	out := make([]StructDecl, len(structTable))
	for i, sd := range structTable {
		out[i] = StructDecl{Name: sd.name, Doc: sd.doc, InSpec: !sd.notInSpec, Fields: fieldDecls(sd.fields)}
	}
	return out
}

func fieldDecls(fs []fieldDesc) []FieldDecl {
	out := make([]FieldDecl, len(fs))
	for i, f := range fs {
		out[i] = FieldDecl{Name: f.name, Kind: f.kind, CType: f.ctype, Doc: f.note}
		if f.members != nil {
			out[i].Members = fieldDecls(f.members)
		}
	}
	return out
}
