package link

// MQTT channel messages.
//
// An MQTT channel carries requests from the device (in its send ring) and
// readable items from the cloud (in its receive ring), each one message in
// the channel's byte stream, little-endian like the HTTP encodings:
//
//	message := total u32 | kind u8 | body        (total counts every byte)
//	str     := len u32 | bytes                   (topics, host, client ID …)
//
// Requests, device → cloud:
//
//	MQTTConnect     1  protocol u8 (0 = 3.1.1, 1 = 5) | clean_start u8 |
//	                   keepalive u16 | port u16 | host str | client_id str |
//	                   auth u8 (0 none, 1 username/password) | username str |
//	                   password str | has_will u8 [ will_topic str |
//	                   will_payload str | will_qos u8 | will_retain u8 ] |
//	                   has_tls u8 [ n_ca u8 | ca str… | n_cert u8 | cert str… |
//	                   key str ]      (certificates and key as DER)
//	MQTTSubscribe   2  correlation_id u32 | n u8 | { topic str | qos u8 |
//	                   nl u8 | rap u8 | rh u8 }…
//	MQTTUnsubscribe 3  correlation_id u32 | n u8 | { topic str }…
//	MQTTPublish     4  correlation_id u32 | topic str | payload str | qos u8 |
//	                   retain u8
//	MQTTAck         5  message_id u32   (the correlation ID of a received
//	                   QoS 1 message the application acknowledged)
//	MQTTDisconnect  6  (no body)
//
// Readable items, cloud → device, in arrival order:
//
//	MQTTConnectResponse     0x81 request_state u32 | reason_code u32
//	MQTTSubscribeResponse   0x82 request_state u32 | correlation_id u32 |
//	                             n u8 | reason_code u8…
//	MQTTUnsubscribeResponse 0x83 (as MQTTSubscribeResponse)
//	MQTTPublishResponse     0x84 request_state u32 | correlation_id u32 |
//	                             reason_code u32
//	MQTTMessage             0x85 message_id u32 | topic str | payload str |
//	                             qos u8 | retain u8
//	MQTTMessageLost         0x86 reason u32 | topic str | message_len u32
//	MQTTDisconnectResponse  0x87 request_state u32 | disconnect_code u32
//
// request_state is an MvMqttRequestState, reason codes are the broker's (MQTT
// 5) or mapped from the 3.1.1 return codes. The cloud never sends an item
// the receive ring has no room for: items wait in the cloud under the
// channel's credit, and a message too large for the whole ring becomes an
// MQTTMessageLost item (reason DEVICERECEIVEBUFFERTOOSMALL).

// Kinds of MQTT channel message.
const (
	MQTTConnect     uint8 = 1
	MQTTSubscribe   uint8 = 2
	MQTTUnsubscribe uint8 = 3
	MQTTPublish     uint8 = 4
	MQTTAck         uint8 = 5
	MQTTDisconnect  uint8 = 6

	MQTTConnectResponse     uint8 = 0x81
	MQTTSubscribeResponse   uint8 = 0x82
	MQTTUnsubscribeResponse uint8 = 0x83
	MQTTPublishResponse     uint8 = 0x84
	MQTTMessage             uint8 = 0x85
	MQTTMessageLost         uint8 = 0x86
	MQTTDisconnectResponse  uint8 = 0x87
)
