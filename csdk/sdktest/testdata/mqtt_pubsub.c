/*
 * The whole Microvisor MQTT flow through libmvnet, against a broker:
 * notification centre, network, MQTT channel, connect, subscribe at QoS 1,
 * publish to itself at QoS 0 and 1 and one message too big for the receive
 * buffer, receive and check the messages (acknowledging the QoS 1 one) and
 * the lost-message report, unsubscribe, disconnect, close everything.
 *
 * The ISR does no system calls: it flags network changes and queues the MQTT
 * channel's events on a CMSIS-RTOS2 message queue (a put with timeout 0),
 * which the main thread waits on before it reads every item the channel has
 * with mvMqttGetNextReadableDataType.
 *
 * argv: HOST PORT VERSION (5 or 3.1.1) CLIENTID [CA.der [CERT.der KEY.der]].
 * With a CA certificate the connection is TLS, trusting that CA, and with a
 * client certificate and its key (DER) they are presented too. Topics are
 * under mvnet/csdk/CLIENTID/. Prints one line per item read; exits
 * (mvTestingComplete) 0 only if everything matched, 1 at the first mismatch
 * after a "FAIL" line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmsis_os2.h"
#include "mv_syscalls.h"
#include "stm32u585xx.h"
#include "stm32u5xx_hal.h"

#define SLOTS 16
#define TAG_NET 1
#define TAG_MQTT 2

static volatile struct MvNotification ring[SLOTS] __attribute__((aligned(16)));
static volatile uint32_t next_slot;
static volatile int net_changed;
static volatile uint32_t queue_full;
static osMessageQueueId_t events; /* enum MvEventType of the MQTT channel's records */

/* Both rings 512-byte aligned, multiples of 512. rx is smaller than the big
 * message, which therefore arrives as a lost-message report. */
static uint8_t rx[1024] __attribute__((aligned(512)));
static uint8_t tx[2048] __attribute__((aligned(512)));

#define BIG_LEN 1200
static uint8_t big[BIG_LEN];

void TIM8_BRK_IRQHandler(void) {
	volatile struct MvNotification *n = &ring[next_slot];
	uint32_t ev = n->event_type;
	if (n->tag == TAG_NET && ev == MV_EVENTTYPE_NETWORKSTATUSCHANGED) {
		net_changed = 1;
	} else if (n->tag == TAG_MQTT) {
		if (osMessageQueuePut(events, &ev, 0, 0) != osOK) {
			queue_full++;
		}
	}
	n->event_type = MV_EVENTTYPE_NOEVENT;
	next_slot = (next_slot + 1) % SLOTS;
}

static void check(int ok, const char *format, ...) {
	if (ok) {
		return;
	}
	va_list ap;
	va_start(ap, format);
	printf("FAIL ");
	vprintf(format, ap);
	printf("\n");
	va_end(ap);
	mvTestingComplete(1);
}

static void call(const char *what, enum MvStatus st) { check(st == MV_STATUS_OKAY, "%s: status %d", what, (int)st); }

static MvChannelHandle ch;
static char prefix[128];
static char topic_q0[160], topic_q1[160], topic_big[160];

/* What the channel has delivered so far. */
static struct {
	int connect, subscribe, unsubscribe, disconnect, lost;
	int published[3]; /* responses to correlation IDs 10, 11, 12 */
	int msg_q0, msg_q1;
} got;

static int str_eq(const uint8_t *data, uint32_t len, const char *want) {
	return len == strlen(want) && memcmp(data, want, len) == 0;
}

static void read_codes(int subscribe, uint32_t want_corr, uint32_t want_code) {
	enum MvMqttRequestState state = MV_MQTTREQUESTSTATE__MAX;
	uint32_t corr = 0, codes[8] = {0}, n = 0;
	const char *what = subscribe ? "subscribe" : "unsubscribe";
	if (subscribe) {
		struct MvMqttSubscribeResponse r = {&state, &corr, codes, 8, &n};
		call("mvMqttReadSubscribeResponse", mvMqttReadSubscribeResponse(ch, &r));
	} else {
		struct MvMqttUnsubscribeResponse r = {&state, &corr, codes, 8, &n};
		call("mvMqttReadUnsubscribeResponse", mvMqttReadUnsubscribeResponse(ch, &r));
	}
	printf("%s: state=%d corr=%u codes=%u [%u]\n", what, (int)state, corr, n, codes[0]);
	check(state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && corr == want_corr && n == 1 && codes[0] == want_code,
	      "%s response", what);
}

/* drain reads every item the channel has, checking each; it stops after the
 * disconnect response, the channel's last item. */
static void drain(void) {
	while (!got.disconnect) {
		enum MvMqttReadableDataType type = MV_MQTTREADABLEDATATYPE__MAX;
		call("mvMqttGetNextReadableDataType", mvMqttGetNextReadableDataType(ch, &type));
		switch (type) {
		case MV_MQTTREADABLEDATATYPE_NONE:
			return;
		case MV_MQTTREADABLEDATATYPE_CONNECTRESPONSE: {
			struct MvMqttConnectResponse r = {MV_MQTTREQUESTSTATE__MAX, 99};
			call("mvMqttReadConnectResponse", mvMqttReadConnectResponse(ch, &r));
			printf("connect: state=%d reason=%u\n", (int)r.request_state, r.reason_code);
			check(r.request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && r.reason_code == 0, "connect refused");
			got.connect++;
			break;
		}
		case MV_MQTTREADABLEDATATYPE_SUBSCRIBERESPONSE:
			read_codes(1, 1, 1); /* granted QoS 1 */
			got.subscribe++;
			break;
		case MV_MQTTREADABLEDATATYPE_UNSUBSCRIBERESPONSE:
			read_codes(0, 2, 0);
			got.unsubscribe++;
			break;
		case MV_MQTTREADABLEDATATYPE_PUBLISHRESPONSE: {
			struct MvMqttPublishResponse r = {MV_MQTTREQUESTSTATE__MAX, 0, 99};
			call("mvMqttReadPublishResponse", mvMqttReadPublishResponse(ch, &r));
			printf("publish: corr=%u state=%d reason=%u\n", r.correlation_id, (int)r.request_state, r.reason_code);
			check(r.correlation_id >= 10 && r.correlation_id <= 12 && !got.published[r.correlation_id - 10],
			      "publish response for an unexpected correlation ID");
			check(r.request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && r.reason_code == 0, "publish failed");
			got.published[r.correlation_id - 10] = 1;
			break;
		}
		case MV_MQTTREADABLEDATATYPE_MESSAGERECEIVED: {
			uint8_t topic[160], payload[1024];
			uint32_t corr = 0, qos = 99, topic_len = 0, payload_len = 0;
			uint8_t retain = 99;
			struct MvMqttMessage m = {
				.correlation_id = &corr,
				.topic = {.data = topic, .size = sizeof topic, .length = &topic_len},
				.payload = {.data = payload, .size = sizeof payload, .length = &payload_len},
				.qos = &qos,
				.retain = &retain,
			};
			call("mvMqttReceiveMessage", mvMqttReceiveMessage(ch, &m));
			printf("message: topic=%.*s payload=%.*s qos=%u retain=%u\n", (int)topic_len, topic, (int)payload_len,
			       payload, qos, retain);
			check(retain == 0, "retain set");
			if (str_eq(topic, topic_len, topic_q0)) {
				check(!got.msg_q0 && qos == 0 && str_eq(payload, payload_len, "hello at QoS 0"), "QoS 0 message");
				got.msg_q0 = 1;
			} else if (str_eq(topic, topic_len, topic_q1)) {
				check(!got.msg_q1 && qos == 1 && str_eq(payload, payload_len, "hello at QoS 1"), "QoS 1 message");
				call("mvMqttAcknowledgeMessage", mvMqttAcknowledgeMessage(ch, corr));
				printf("acknowledged: corr=%u\n", corr);
				got.msg_q1 = 1;
			} else {
				check(0, "message on an unexpected topic");
			}
			break;
		}
		case MV_MQTTREADABLEDATATYPE_MESSAGELOST: {
			enum MvMqttLostMessageReason reason = MV_MQTTLOSTMESSAGEREASON__MAX;
			uint8_t topic[160];
			uint32_t topic_len = 0, len = 0;
			struct MvMqttLostMessageInfo info = {
				.reason = &reason,
				.topic = {.data = topic, .size = sizeof topic, .length = &topic_len},
				.message_len = &len,
			};
			call("mvMqttReceiveLostMessageInfo", mvMqttReceiveLostMessageInfo(ch, &info));
			printf("lost: reason=%d topic=%.*s length=%u\n", (int)reason, (int)topic_len, topic, len);
			check(!got.lost && reason == MV_MQTTLOSTMESSAGEREASON_DEVICERECEIVEBUFFERTOOSMALL &&
			          str_eq(topic, topic_len, topic_big) && len == BIG_LEN,
			      "lost-message report");
			got.lost = 1;
			break;
		}
		case MV_MQTTREADABLEDATATYPE_DISCONNECTRESPONSE: {
			struct MvMqttDisconnectResponse r = {MV_MQTTREQUESTSTATE__MAX, 99};
			call("mvMqttReadDisconnectResponse", mvMqttReadDisconnectResponse(ch, &r));
			printf("disconnect: state=%d code=%u\n", (int)r.request_state, r.disconnect_code);
			check(r.request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && r.disconnect_code == 0,
			      "disconnect response (the session ended?)");
			got.disconnect = 1;
			break;
		}
		default:
			check(0, "unexpected readable data type %d", (int)type);
		}
	}
}

/* pump reads what the channel has until done() holds, waiting on the ISR's
 * queue between rounds; at most 15 s. */
static void pump(const char *what, int (*done)(void)) {
	uint32_t start = HAL_GetTick();
	for (;;) {
		drain();
		if (done()) {
			return;
		}
		check(HAL_GetTick() - start < 15000, "timed out waiting for %s", what);
		uint32_t ev;
		if (osMessageQueueGet(events, &ev, NULL, 100) == osOK && ev == MV_EVENTTYPE_CHANNELNOTCONNECTED) {
			enum MvClosureReason reason = MV_CLOSUREREASON_NONE;
			mvGetChannelClosureReason(ch, &reason);
			drain();
			check(0, "channel not connected (closure reason %d) while waiting for %s", (int)reason, what);
		}
	}
}

static int connected(void) { return got.connect; }
static int subscribed(void) { return got.subscribe; }
static int all_delivered(void) {
	return got.published[0] && got.published[1] && got.published[2] && got.msg_q0 && got.msg_q1 && got.lost;
}
static int unsubscribed(void) { return got.unsubscribe; }
static int disconnected(void) { return got.disconnect; }

/* read_file reads a whole (DER) file into a static buffer. */
static struct MvSizedString read_file(const char *path, uint8_t *buf, size_t size) {
	FILE *f = fopen(path, "rb");
	check(f != NULL, "open %s", path);
	size_t n = fread(buf, 1, size, f);
	check(n > 0 && n < size && feof(f), "read %s", path);
	fclose(f);
	return (struct MvSizedString){.data = buf, .length = (uint32_t)n};
}

static void publish(uint32_t corr, const char *topic, const uint8_t *payload, uint32_t len, uint32_t qos) {
	struct MvMqttPublishRequest p = {
		.correlation_id = corr,
		.topic = {.data = (const uint8_t *)topic, .length = (uint32_t)strlen(topic)},
		.payload = {.data = payload, .length = len},
		.desired_qos = qos,
		.retain = 0,
	};
	call("mvMqttRequestPublish", mvMqttRequestPublish(ch, &p));
}

int main(int argc, char **argv) {
	if (argc != 5 && argc != 6 && argc != 8) {
		printf("usage: mqtt_pubsub HOST PORT 5|3.1.1 CLIENTID [CA.der [CERT.der KEY.der]]\n");
		return 2;
	}
	const char *host = argv[1], *clientid = argv[4];
	int port = atoi(argv[2]);
	enum MvMqttProtocolVersion version;
	if (strcmp(argv[3], "5") == 0) {
		version = MV_MQTTPROTOCOLVERSION_V5;
	} else if (strcmp(argv[3], "3.1.1") == 0) {
		version = MV_MQTTPROTOCOLVERSION_V3_1_1;
	} else {
		printf("version %s: want 5 or 3.1.1\n", argv[3]);
		return 2;
	}
	snprintf(prefix, sizeof prefix, "mvnet/csdk/%s/", clientid);
	snprintf(topic_q0, sizeof topic_q0, "%sqos0", prefix);
	snprintf(topic_q1, sizeof topic_q1, "%sqos1", prefix);
	snprintf(topic_big, sizeof topic_big, "%sbig", prefix);
	for (int i = 0; i < BIG_LEN; i++) {
		big[i] = (uint8_t)('a' + i % 26);
	}
	HAL_Init();
	events = osMessageQueueNew(32, sizeof(uint32_t), NULL);
	check(events != NULL, "osMessageQueueNew");

	/* Notification centre on TIM8_BRK. */
	struct MvNotificationSetup setup = {
		.irq = TIM8_BRK_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof ring};
	MvNotificationHandle centre = 0;
	call("mvSetupNotifications", mvSetupNotifications(&setup, &centre));
	NVIC_ClearPendingIRQ(TIM8_BRK_IRQn);
	NVIC_EnableIRQ(TIM8_BRK_IRQn);

	/* Network. */
	struct MvRequestNetworkParams np = {.version = 1, .v1 = {.notification_handle = centre, .notification_tag = TAG_NET}};
	MvNetworkHandle net = 0;
	call("mvRequestNetwork", mvRequestNetwork(&np, &net));
	uint32_t start = HAL_GetTick();
	for (;;) {
		enum MvNetworkStatus ns;
		call("mvGetNetworkStatus", mvGetNetworkStatus(net, &ns));
		if (ns == MV_NETWORKSTATUS_CONNECTED) {
			break;
		}
		check(HAL_GetTick() - start < 15000, "network never connected");
		while (!net_changed && HAL_GetTick() - start < 15000) {
			HAL_Delay(1);
		}
		net_changed = 0;
	}

	/* MQTT channel. */
	struct MvOpenChannelParams cp = {
		.version = 1,
		.v1 = {.notification_handle = centre,
		       .notification_tag = TAG_MQTT,
		       .network_handle = net,
		       .receive_buffer = rx,
		       .receive_buffer_len = sizeof rx,
		       .send_buffer = tx,
		       .send_buffer_len = sizeof tx,
		       .channel_type = MV_CHANNELTYPE_MQTT,
		       .endpoint = {.data = NULL, .length = 0}}};
	call("mvOpenChannel", mvOpenChannel(&cp, &ch));

	/* Connect. */
	struct MvMqttConnectRequest conn = {
		.protocol_version = version,
		.host = {.data = (const uint8_t *)host, .length = (uint32_t)strlen(host)},
		.port = (uint16_t)port,
		.clientid = {.data = (const uint8_t *)clientid, .length = (uint32_t)strlen(clientid)},
		.authentication = {.method = MV_MQTTAUTHENTICATIONMETHOD_NONE},
		.tls_credentials = NULL,
		.keepalive = 60,
		.clean_start = 1,
		.will = NULL,
	};
	static uint8_t ca_der[4096], cert_der[4096], key_der[4096];
	static struct MvSizedString ca, cert;
	static struct MvTlsCredentials tls;
	if (argc >= 6) {
		ca = read_file(argv[5], ca_der, sizeof ca_der);
		tls.cacert = (struct MvTlsCertificateChain){.num_certs = 1, .certs = &ca};
		if (argc == 8) {
			cert = read_file(argv[6], cert_der, sizeof cert_der);
			tls.clientcert.chain = (struct MvTlsCertificateChain){.num_certs = 1, .certs = &cert};
			tls.clientcert.key = read_file(argv[7], key_der, sizeof key_der);
		}
		conn.tls_credentials = &tls;
	}
	call("mvMqttRequestConnect", mvMqttRequestConnect(ch, &conn));
	pump("the connect response", connected);

	/* Subscribe to everything under the prefix at QoS 1. */
	char filter[160];
	snprintf(filter, sizeof filter, "%s#", prefix);
	struct MvMqttSubscription sub = {
		.topic = {.data = (const uint8_t *)filter, .length = (uint32_t)strlen(filter)}, .desired_qos = 1};
	struct MvMqttSubscribeRequest sr = {.correlation_id = 1, .subscriptions = &sub, .num_subscriptions = 1};
	call("mvMqttRequestSubscribe", mvMqttRequestSubscribe(ch, &sr));
	pump("the subscribe response", subscribed);

	/* Publish to ourselves: QoS 0, QoS 1, and one too big for rx. */
	publish(10, topic_q0, (const uint8_t *)"hello at QoS 0", 14, 0);
	publish(11, topic_q1, (const uint8_t *)"hello at QoS 1", 14, 1);
	publish(12, topic_big, big, BIG_LEN, 0);
	pump("the messages and publish responses", all_delivered);

	/* Unsubscribe, disconnect. */
	struct MvSizedString unsub = {.data = (const uint8_t *)filter, .length = (uint32_t)strlen(filter)};
	struct MvMqttUnsubscribeRequest ur = {.correlation_id = 2, .topics = &unsub, .num_topics = 1};
	call("mvMqttRequestUnsubscribe", mvMqttRequestUnsubscribe(ch, &ur));
	pump("the unsubscribe response", unsubscribed);
	call("mvMqttRequestDisconnect", mvMqttRequestDisconnect(ch));
	pump("the disconnect response", disconnected);

	/* Close and release. */
	call("mvCloseChannel", mvCloseChannel(&ch));
	check(ch == 0, "mvCloseChannel left the handle");
	call("mvReleaseNetwork", mvReleaseNetwork(&net));
	NVIC_DisableIRQ(TIM8_BRK_IRQn);
	call("mvCloseNotifications", mvCloseNotifications(&centre));
	printf("all matched (queue full %u times)\n", queue_full);
	return mvTestingComplete(0);
}
