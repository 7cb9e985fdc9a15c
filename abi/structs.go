package abi

// This file describes every structure of spec/abi.md, "Structures", as an
// ordered list of typed fields. Layouts for each ABI are computed from it
// (layout.go); nothing else states an offset. C types are kept beside each
// field so that the C header can later be rendered from the same data.

// fieldDesc is one declared field of a structure.
type fieldDesc struct {
	name    string
	kind    Kind
	ctype   string      // C type of a leaf; the tag of a nested struct
	members []fieldDesc // KindUnion only: the fields of struct v1
}

// structDesc is one structure: its C tag and its fields in order.
type structDesc struct {
	name   string
	fields []fieldDesc
}

func st(name string, fs ...fieldDesc) structDesc { return structDesc{name: name, fields: fs} }

func u8(n string) fieldDesc  { return fieldDesc{name: n, kind: KindU8, ctype: "uint8_t"} }
func u16(n string) fieldDesc { return fieldDesc{name: n, kind: KindU16, ctype: "uint16_t"} }
func u32(n string) fieldDesc { return fieldDesc{name: n, kind: KindU32, ctype: "uint32_t"} }
func u64(n string) fieldDesc { return fieldDesc{name: n, kind: KindU64, ctype: "uint64_t"} }

// ptr is a data pointer; ctype is the full C pointer type.
func ptr(n, ctype string) fieldDesc { return fieldDesc{name: n, kind: KindPointer, ctype: ctype} }

// handle is an opaque handle: a pointer typedef in the C header, so
// pointer-sized, though its value is 32 bits on the device.
func handle(n, typedef string) fieldDesc { return fieldDesc{name: n, kind: KindHandle, ctype: typedef} }

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
func v1(fs ...fieldDesc) fieldDesc { return fieldDesc{name: "v1", kind: KindUnion, members: fs} }

// mqttReasonCodesResponse is the shared shape of the subscribe and
// unsubscribe responses.
func mqttReasonCodesResponse(name string) structDesc {
	return st(name,
		ptr("request_state", "enum MvMqttRequestState *"),
		ptr("correlation_id", "uint32_t *"),
		ptr("reason_codes", "uint32_t *"),
		u32("reason_codes_size"),
		ptr("reason_codes_len", "uint32_t *"))
}

// structTable lists the structures in header order; a nested structure is
// always listed before the first structure that holds it.
var structTable = []structDesc{
	st("MvNotification",
		u64("microseconds"), enum("event_type", "MvEventType"), u32("tag")),
	st("MvNotificationSetup",
		u32("irq"), ptr("buffer", "struct MvNotification *"), u32("buffer_size")),
	st("MvRequestNetworkParams",
		u32("version"),
		v1(handle("notification_handle", "MvNotificationHandle"), u32("notification_tag"))),
	st("MvSizedString",
		ptr("data", "const uint8_t *"), u32("length")),
	st("MvOpenChannelParams",
		u32("version"),
		v1(handle("notification_handle", "MvNotificationHandle"),
			u32("notification_tag"),
			handle("network_handle", "MvNetworkHandle"),
			ptr("receive_buffer", "uint8_t *"),
			u32("receive_buffer_len"),
			ptr("send_buffer", "uint8_t *"),
			u32("send_buffer_len"),
			enum("channel_type", "MvChannelType"),
			nested("endpoint", "MvSizedString"))),
	// spec/abi.md: length comes first, unlike MvSizedString.
	st("MvHttpHeader",
		u32("length"), ptr("data", "const uint8_t *")),
	st("MvHttpRequest",
		nested("method", "MvSizedString"),
		nested("url", "MvSizedString"),
		u32("num_headers"),
		ptr("headers", "const struct MvHttpHeader *"),
		nested("body", "MvSizedString"),
		u32("timeout_ms")),
	st("MvHttpResponseData",
		enum("result", "MvHttpResult"), u32("status_code"), u32("num_headers"), u32("body_length")),
	st("MvConfigKeyToFetch",
		enum("scope", "MvConfigKeyFetchScope"),
		enum("store", "MvConfigKeyFetchStore"),
		nested("key", "MvSizedString")),
	st("MvConfigKeyFetchParams",
		u32("num_items"), ptr("keys_to_fetch", "const struct MvConfigKeyToFetch *")),
	st("MvConfigResponseData",
		enum("result", "MvConfigFetchResult"), u32("num_items")),
	st("MvSizedStringBuffer",
		ptr("data", "uint8_t *"), u32("size"), ptr("length", "uint32_t *")),
	st("MvConfigResponseReadItemParams",
		u32("item_index"),
		ptr("result", "enum MvConfigKeyFetchResult *"),
		nested("buf", "MvSizedStringBuffer")),
	st("MvUsernamePassword",
		nested("username", "MvSizedString"), nested("password", "MvSizedString")),
	st("MvMqttAuthentication",
		enum("method", "MvMqttAuthenticationMethod"),
		nested("username_password", "MvUsernamePassword")),
	st("MvTlsCertificateChain",
		u32("num_certs"), ptr("certs", "const struct MvSizedString *")),
	st("MvOwnTlsCertificateChain",
		nested("chain", "MvTlsCertificateChain"), nested("key", "MvSizedString")),
	st("MvTlsCredentials",
		nested("cacert", "MvTlsCertificateChain"), nested("clientcert", "MvOwnTlsCertificateChain")),
	st("MvMqttWill",
		nested("topic", "MvSizedString"), nested("payload", "MvSizedString"), u32("qos"), u8("retain")),
	st("MvMqttConnectRequest",
		enum("protocol_version", "MvMqttProtocolVersion"),
		nested("host", "MvSizedString"),
		u16("port"),
		nested("clientid", "MvSizedString"),
		nested("authentication", "MvMqttAuthentication"),
		ptr("tls_credentials", "const struct MvTlsCredentials *"),
		u32("keepalive"),
		u8("clean_start"),
		ptr("will", "const struct MvMqttWill *")),
	st("MvMqttConnectResponse",
		enum("request_state", "MvMqttRequestState"), u32("reason_code")),
	st("MvMqttSubscription",
		nested("topic", "MvSizedString"), u32("desired_qos"), u32("nl"), u32("rap"), u32("rh")),
	st("MvMqttSubscribeRequest",
		u32("correlation_id"),
		ptr("subscriptions", "const struct MvMqttSubscription *"),
		u32("num_subscriptions")),
	mqttReasonCodesResponse("MvMqttSubscribeResponse"),
	st("MvMqttUnsubscribeRequest",
		u32("correlation_id"), ptr("topics", "const struct MvSizedString *"), u32("num_topics")),
	mqttReasonCodesResponse("MvMqttUnsubscribeResponse"),
	st("MvMqttPublishRequest",
		u32("correlation_id"),
		nested("topic", "MvSizedString"),
		nested("payload", "MvSizedString"),
		u32("desired_qos"),
		u32("retain")),
	st("MvMqttPublishResponse",
		enum("request_state", "MvMqttRequestState"), u32("correlation_id"), u32("reason_code")),
	st("MvMqttMessage",
		ptr("correlation_id", "uint32_t *"),
		nested("topic", "MvSizedStringBuffer"),
		nested("payload", "MvSizedStringBuffer"),
		ptr("qos", "uint32_t *"),
		ptr("retain", "uint8_t *")),
	st("MvMqttLostMessageInfo",
		ptr("reason", "enum MvMqttLostMessageReason *"),
		nested("topic", "MvSizedStringBuffer"),
		ptr("message_len", "uint32_t *")),
	st("MvMqttDisconnectResponse",
		enum("request_state", "MvMqttRequestState"), u32("disconnect_code")),
	st("MvOpenSystemNotificationParams",
		handle("notification_handle", "MvNotificationHandle"),
		u32("notification_tag"),
		enum("notification_source", "MvSystemNotificationSource")),
}
