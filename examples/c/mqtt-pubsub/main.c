/*
 * mqtt-pubsub: the whole Microvisor MQTT flow in C, written as a device
 * application is, and runnable on a PC against mvnet's C SDK.
 *
 *   notification centre → network → MQTT channel → connect → subscribe →
 *   publish to itself at QoS 0 and QoS 1 → interrupt sets a flag → read
 *   every item the channel has: responses and messages → acknowledge the
 *   QoS 1 message → unsubscribe → disconnect → close → release
 *
 * The broker's host and port come from the arguments (default 127.0.0.1
 * 1883). `mvnet broker` runs a broker there, speaking plain TCP; the
 * cloud refuses loopback and private addresses unless allowed, and makes a
 * connect without tls_credentials TLS unless told the broker is plain
 * (docs/mqtt.md), so run:
 *
 *   mvnet broker &
 *   MVNET_ALLOW=127.0.0.0/8 MVNET_MQTT_PLAINTEXT=1 ./mqtt-pubsub 127.0.0.1 1883
 *
 * The process exits 0 when both messages came back and every request
 * succeeded, 1 otherwise.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mv_syscalls.h"
#include "stm32u5xx_hal.h"

#define NOTIFICATION_SLOTS 16
#define TAG_NETWORK 1
#define TAG_MQTT 2

/* Channel buffers: 512-byte aligned, multiples of 512 bytes. */
#define RX_BUFFER_SIZE 2048
#define TX_BUFFER_SIZE 1024

/* Correlation IDs of our requests. */
#define ID_SUBSCRIBE 1
#define ID_UNSUBSCRIBE 2
#define ID_PUBLISH_QOS0 10
#define ID_PUBLISH_QOS1 11

static volatile struct MvNotification notifications[NOTIFICATION_SLOTS] __attribute__((aligned(8)));
static volatile uint32_t notification_index = 0;

static uint8_t rx_buffer[RX_BUFFER_SIZE] __attribute__((aligned(512)));
static uint8_t tx_buffer[TX_BUFFER_SIZE] __attribute__((aligned(512)));

static volatile bool network_changed = false;
static volatile bool data_readable = false;
static volatile bool channel_lost = false;

/* The ISR: read the next record, note what happened, clear it, move on.
 * No system calls here, as on a device. */
void TIM8_BRK_IRQHandler(void) {
    volatile struct MvNotification *n = &notifications[notification_index];
    switch (n->event_type) {
    case MV_EVENTTYPE_NETWORKSTATUSCHANGED:
        network_changed = true;
        break;
    case MV_EVENTTYPE_CHANNELDATAREADABLE:
        if (n->tag == TAG_MQTT) data_readable = true;
        break;
    case MV_EVENTTYPE_CHANNELNOTCONNECTED:
        if (n->tag == TAG_MQTT) channel_lost = true;
        break;
    default:
        break;
    }
    n->event_type = MV_EVENTTYPE_NOEVENT;
    notification_index = (notification_index + 1) % NOTIFICATION_SLOTS;
}

static MvChannelHandle channel = 0;
static char topic_qos0[80], topic_qos1[80], topic_filter[80];

/* What has come back so far. */
static struct {
    bool connected, subscribed, unsubscribed, disconnected;
    int publish_responses, messages;
    bool failed; /* a request failed or a message did not match */
} state;

static void fail(const char *what, enum MvStatus status) {
    printf("%s failed: status %u\n", what, (unsigned)status);
    exit(1);
}

static void check(bool ok, const char *what) {
    if (!ok) {
        printf("unexpected: %s\n", what);
        state.failed = true;
    }
}

static bool matches(const uint8_t *data, uint32_t length, const char *want) {
    return length == strlen(want) && memcmp(data, want, length) == 0;
}

/* Reads one item of the type mvMqttGetNextReadableDataType named. */
static void read_item(enum MvMqttReadableDataType type) {
    enum MvStatus status;
    switch (type) {
    case MV_MQTTREADABLEDATATYPE_CONNECTRESPONSE: {
        struct MvMqttConnectResponse r;
        if ((status = mvMqttReadConnectResponse(channel, &r)) != MV_STATUS_OKAY) fail("mvMqttReadConnectResponse", status);
        printf("connect: request state %u, reason code %u\n", (unsigned)r.request_state, (unsigned)r.reason_code);
        if (r.request_state != MV_MQTTREQUESTSTATE_REQUESTCOMPLETED || r.reason_code != 0) {
            if (r.request_state == MV_MQTTREQUESTSTATE_SOCKETERROR) {
                printf("could not reach the broker: is it running? (a broker on a loopback or private address needs "
                       "MVNET_ALLOW, e.g. MVNET_ALLOW=127.0.0.0/8)\n");
            } else {
                printf("the broker refused the connection\n");
            }
            exit(1);
        }
        state.connected = true;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_SUBSCRIBERESPONSE: {
        enum MvMqttRequestState request_state;
        uint32_t id, codes[1], count;
        struct MvMqttSubscribeResponse r = {
            .request_state = &request_state,
            .correlation_id = &id,
            .reason_codes = codes,
            .reason_codes_size = 1,
            .reason_codes_len = &count,
        };
        if ((status = mvMqttReadSubscribeResponse(channel, &r)) != MV_STATUS_OKAY) fail("mvMqttReadSubscribeResponse", status);
        printf("subscribed: request state %u, granted QoS %u\n", (unsigned)request_state, count ? (unsigned)codes[0] : 0);
        check(request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && id == ID_SUBSCRIBE && count == 1 && codes[0] == 1,
              "subscribe response");
        state.subscribed = true;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_UNSUBSCRIBERESPONSE: {
        enum MvMqttRequestState request_state;
        uint32_t id, codes[1], count;
        struct MvMqttUnsubscribeResponse r = {
            .request_state = &request_state,
            .correlation_id = &id,
            .reason_codes = codes,
            .reason_codes_size = 1,
            .reason_codes_len = &count,
        };
        if ((status = mvMqttReadUnsubscribeResponse(channel, &r)) != MV_STATUS_OKAY) fail("mvMqttReadUnsubscribeResponse", status);
        printf("unsubscribed: request state %u\n", (unsigned)request_state);
        check(request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && id == ID_UNSUBSCRIBE, "unsubscribe response");
        state.unsubscribed = true;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_PUBLISHRESPONSE: {
        struct MvMqttPublishResponse r;
        if ((status = mvMqttReadPublishResponse(channel, &r)) != MV_STATUS_OKAY) fail("mvMqttReadPublishResponse", status);
        printf("published #%u: request state %u, reason code %u\n", (unsigned)r.correlation_id, (unsigned)r.request_state,
               (unsigned)r.reason_code);
        check(r.request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && r.reason_code == 0, "publish response");
        state.publish_responses++;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_MESSAGERECEIVED: {
        uint8_t topic[128], payload[512];
        uint32_t id, qos, topic_len, payload_len;
        uint8_t retain;
        struct MvMqttMessage m = {
            .correlation_id = &id,
            .topic = {.data = topic, .size = sizeof(topic), .length = &topic_len},
            .payload = {.data = payload, .size = sizeof(payload), .length = &payload_len},
            .qos = &qos,
            .retain = &retain,
        };
        if ((status = mvMqttReceiveMessage(channel, &m)) != MV_STATUS_OKAY) fail("mvMqttReceiveMessage", status);
        printf("received on %.*s at QoS %u: %.*s\n", (int)topic_len, (char *)topic, (unsigned)qos, (int)payload_len,
               (char *)payload);
        if (matches(topic, topic_len, topic_qos0)) {
            check(qos == 0 && matches(payload, payload_len, "hello at QoS 0"), "the QoS 0 message");
        } else if (matches(topic, topic_len, topic_qos1)) {
            check(qos == 1 && matches(payload, payload_len, "hello at QoS 1"), "the QoS 1 message");
        } else {
            check(false, "a message on another topic");
        }
        /* A QoS 1 message stays unacknowledged to the broker until we say. */
        if (qos == 1) {
            if ((status = mvMqttAcknowledgeMessage(channel, id)) != MV_STATUS_OKAY) fail("mvMqttAcknowledgeMessage", status);
            printf("acknowledged message #%u\n", (unsigned)id);
        }
        state.messages++;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_MESSAGELOST: {
        enum MvMqttLostMessageReason reason;
        uint8_t topic[128];
        uint32_t topic_len, length;
        struct MvMqttLostMessageInfo info = {
            .reason = &reason,
            .topic = {.data = topic, .size = sizeof(topic), .length = &topic_len},
            .message_len = &length,
        };
        if ((status = mvMqttReceiveLostMessageInfo(channel, &info)) != MV_STATUS_OKAY) fail("mvMqttReceiveLostMessageInfo", status);
        printf("lost a %u-byte message on %.*s (reason %u)\n", (unsigned)length, (int)topic_len, (char *)topic,
               (unsigned)reason);
        check(false, "a lost message");
        break;
    }
    case MV_MQTTREADABLEDATATYPE_DISCONNECTRESPONSE: {
        struct MvMqttDisconnectResponse r;
        if ((status = mvMqttReadDisconnectResponse(channel, &r)) != MV_STATUS_OKAY) fail("mvMqttReadDisconnectResponse", status);
        printf("disconnected: request state %u, code %u\n", (unsigned)r.request_state, (unsigned)r.disconnect_code);
        /* Anything but REQUESTCOMPLETED is news that the broker session
         * ended without our asking. */
        check(r.request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED, "the broker session ended");
        state.disconnected = true;
        break;
    }
    default:
        break;
    }
}

/* What wait_for waits for. */
static bool connected(void) { return state.connected; }
static bool subscribed(void) { return state.subscribed; }
static bool both_back(void) { return state.publish_responses == 2 && state.messages == 2; }
static bool unsubscribed(void) { return state.unsubscribed; }
static bool disconnected(void) { return state.disconnected; }

/* Waits for the ISR's flag and reads every item the channel has, until
 * done() holds. The flag is cleared before reading, so an item arriving
 * during the reads sets it again. */
static void wait_for(bool (*done)(void), const char *what) {
    uint32_t start = HAL_GetTick();
    while (!done()) {
        if (data_readable) {
            data_readable = false;
            for (;;) {
                enum MvMqttReadableDataType type;
                enum MvStatus status = mvMqttGetNextReadableDataType(channel, &type);
                if (status != MV_STATUS_OKAY) fail("mvMqttGetNextReadableDataType", status);
                if (type == MV_MQTTREADABLEDATATYPE_NONE) break;
                read_item(type);
                if (state.disconnected) break; /* the channel's last item */
            }
            continue;
        }
        if (channel_lost && !state.disconnected) {
            enum MvClosureReason reason = MV_CLOSUREREASON_NONE;
            mvGetChannelClosureReason(channel, &reason);
            printf("channel lost its connection: reason %u\n", (unsigned)reason);
            exit(1);
        }
        if (HAL_GetTick() - start > 15000) {
            printf("timed out waiting for %s\n", what);
            exit(1);
        }
        HAL_Delay(1);
    }
}

static void publish(uint32_t id, const char *topic, const char *payload, uint32_t qos) {
    struct MvMqttPublishRequest request = {
        .correlation_id = id,
        .topic = {.data = (const uint8_t *)topic, .length = (uint32_t)strlen(topic)},
        .payload = {.data = (const uint8_t *)payload, .length = (uint32_t)strlen(payload)},
        .desired_qos = qos,
        .retain = 0,
    };
    enum MvStatus status = mvMqttRequestPublish(channel, &request);
    if (status != MV_STATUS_OKAY) fail("mvMqttRequestPublish", status);
}

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    uint16_t port = (uint16_t)(argc > 2 ? atoi(argv[2]) : 1883);
    enum MvStatus status;
    HAL_Init();

    /* The device ID is the client ID, and names our topics. */
    char device_id[35] = {0};
    if ((status = mvGetDeviceId((uint8_t *)device_id, 34)) != MV_STATUS_OKAY) fail("mvGetDeviceId", status);
    snprintf(topic_qos0, sizeof(topic_qos0), "mvnet/examples/%s/qos0", device_id);
    snprintf(topic_qos1, sizeof(topic_qos1), "mvnet/examples/%s/qos1", device_id);
    snprintf(topic_filter, sizeof(topic_filter), "mvnet/examples/%s/+", device_id);

    /* 1. Notification centre on TIM8_BRK. */
    memset((void *)notifications, 0xff, sizeof(notifications));
    static struct MvNotificationSetup setup = {
        .irq = TIM8_BRK_IRQn,
        .buffer = (struct MvNotification *)notifications,
        .buffer_size = sizeof(notifications),
    };
    MvNotificationHandle notification_handle = 0;
    if ((status = mvSetupNotifications(&setup, &notification_handle)) != MV_STATUS_OKAY) fail("mvSetupNotifications", status);
    NVIC_ClearPendingIRQ(TIM8_BRK_IRQn);
    NVIC_EnableIRQ(TIM8_BRK_IRQn);

    /* 2. Network. */
    struct MvRequestNetworkParams net_params = {
        .version = 1,
        .v1 = {.notification_handle = notification_handle, .notification_tag = TAG_NETWORK},
    };
    MvNetworkHandle network_handle = 0;
    if ((status = mvRequestNetwork(&net_params, &network_handle)) != MV_STATUS_OKAY) fail("mvRequestNetwork", status);
    uint32_t start = HAL_GetTick();
    for (;;) {
        enum MvNetworkStatus net_status;
        if ((status = mvGetNetworkStatus(network_handle, &net_status)) != MV_STATUS_OKAY) fail("mvGetNetworkStatus", status);
        if (net_status == MV_NETWORKSTATUS_CONNECTED) break;
        while (!network_changed) {
            if (HAL_GetTick() - start > 15000) {
                printf("timed out waiting for the network\n");
                return 1;
            }
            HAL_Delay(1);
        }
        network_changed = false;
    }
    printf("network connected\n");

    /* 3. MQTT channel. */
    struct MvOpenChannelParams channel_params = {
        .version = 1,
        .v1 = {
            .notification_handle = notification_handle,
            .notification_tag = TAG_MQTT,
            .network_handle = network_handle,
            .receive_buffer = rx_buffer,
            .receive_buffer_len = sizeof(rx_buffer),
            .send_buffer = tx_buffer,
            .send_buffer_len = sizeof(tx_buffer),
            .channel_type = MV_CHANNELTYPE_MQTT,
            .endpoint = {.data = (uint8_t *)"", .length = 0},
        },
    };
    if ((status = mvOpenChannel(&channel_params, &channel)) != MV_STATUS_OKAY) fail("mvOpenChannel", status);

    /* 4. Connect: MQTT 5 (MV_MQTTPROTOCOLVERSION_V3_1_1 for 3.1.1), no
     * tls_credentials (TLS with the cloud's trusted roots, or plain TCP
     * with MVNET_MQTT_PLAINTEXT=1), no user name, no will. */
    struct MvMqttConnectRequest connect = {
        .protocol_version = MV_MQTTPROTOCOLVERSION_V5,
        .host = {.data = (const uint8_t *)host, .length = (uint32_t)strlen(host)},
        .port = port,
        .clientid = {.data = (const uint8_t *)device_id, .length = 34},
        .authentication = {.method = MV_MQTTAUTHENTICATIONMETHOD_NONE},
        .tls_credentials = NULL,
        .keepalive = 60,
        .clean_start = 1,
        .will = NULL,
    };
    if ((status = mvMqttRequestConnect(channel, &connect)) != MV_STATUS_OKAY) fail("mvMqttRequestConnect", status);
    wait_for(connected, "the connect response");
    printf("connected to %s:%u (MQTT 5)\n", host, (unsigned)port);

    /* 5. Subscribe to our topics at QoS 1. */
    struct MvMqttSubscription subscription = {
        .topic = {.data = (const uint8_t *)topic_filter, .length = (uint32_t)strlen(topic_filter)},
        .desired_qos = 1,
    };
    struct MvMqttSubscribeRequest subscribe = {
        .correlation_id = ID_SUBSCRIBE,
        .subscriptions = &subscription,
        .num_subscriptions = 1,
    };
    if ((status = mvMqttRequestSubscribe(channel, &subscribe)) != MV_STATUS_OKAY) fail("mvMqttRequestSubscribe", status);
    wait_for(subscribed, "the subscribe response");

    /* 6. Publish to ourselves, and read the responses and messages. */
    publish(ID_PUBLISH_QOS0, topic_qos0, "hello at QoS 0", 0);
    publish(ID_PUBLISH_QOS1, topic_qos1, "hello at QoS 1", 1);
    wait_for(both_back, "the messages and publish responses");

    /* 7. Unsubscribe and disconnect. */
    struct MvSizedString unsubscribe_topic = {.data = (const uint8_t *)topic_filter, .length = (uint32_t)strlen(topic_filter)};
    struct MvMqttUnsubscribeRequest unsubscribe = {
        .correlation_id = ID_UNSUBSCRIBE,
        .topics = &unsubscribe_topic,
        .num_topics = 1,
    };
    if ((status = mvMqttRequestUnsubscribe(channel, &unsubscribe)) != MV_STATUS_OKAY) fail("mvMqttRequestUnsubscribe", status);
    wait_for(unsubscribed, "the unsubscribe response");
    if ((status = mvMqttRequestDisconnect(channel)) != MV_STATUS_OKAY) fail("mvMqttRequestDisconnect", status);
    wait_for(disconnected, "the disconnect response");

    /* 8. Close and release. */
    if ((status = mvCloseChannel(&channel)) != MV_STATUS_OKAY || channel != 0) fail("mvCloseChannel", status);
    if ((status = mvReleaseNetwork(&network_handle)) != MV_STATUS_OKAY || network_handle != 0) fail("mvReleaseNetwork", status);
    NVIC_DisableIRQ(TIM8_BRK_IRQn);
    if ((status = mvCloseNotifications(&notification_handle)) != MV_STATUS_OKAY) fail("mvCloseNotifications", status);
    printf(state.failed ? "something did not match\n" : "done: both messages came back\n");
    return state.failed ? 1 : 0;
}
