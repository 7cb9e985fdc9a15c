/*
 * mqtt: an MQTT session from firmware. Network, MQTT channel, connect to
 * FW_MQTT_HOST:FW_MQTT_PORT (default mqtt.fw.test:1883, which a test maps
 * to its loopback broker with --resolve and allows with --allow; the
 * broker is plain TCP, so the cloud runs with MQTT plaintext allowed),
 * subscribe to fw/<device id>, publish one QoS 1 message there, receive it
 * back, acknowledge it, disconnect. Each step is logged with mvServerLog;
 * mvTestingComplete(0) when the message came back intact.
 */
#include <stdio.h>
#include <string.h>

#include "fw.h"

#ifndef FW_MQTT_HOST
#define FW_MQTT_HOST "mqtt.fw.test"
#endif
#ifndef FW_MQTT_PORT
#define FW_MQTT_PORT 1883
#endif

#define TAG_NETWORK 1
#define TAG_MQTT 2
#define ID_SUBSCRIBE 1
#define ID_PUBLISH 2

static const char payload[] = "hello from firmware";
static char topic[64];
static MvChannelHandle channel;

/* What has come back so far. */
static struct {
    bool connected, subscribed, published, received, disconnected;
} got;

static void check(bool ok, const char *what) {
    if (!ok) {
        fw_log("mqtt: unexpected %s", what);
        fw_exit(1);
    }
}

/* read_one reads the item of the type mvMqttGetNextReadableDataType named. */
static void read_one(enum MvMqttReadableDataType type) {
    enum MvStatus status;
    switch (type) {
    case MV_MQTTREADABLEDATATYPE_CONNECTRESPONSE: {
        struct MvMqttConnectResponse r;
        if ((status = mvMqttReadConnectResponse(channel, &r)) != MV_STATUS_OKAY) fw_fail("mvMqttReadConnectResponse", status);
        fw_log("mqtt: connect: state %u, reason %u", (unsigned)r.request_state, (unsigned)r.reason_code);
        check(r.request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && r.reason_code == 0, "connect response");
        got.connected = true;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_SUBSCRIBERESPONSE: {
        uint32_t granted = 0;
        enum MvMqttRequestState state = fw_mqtt_read_subscribe(channel, ID_SUBSCRIBE, &granted);
        fw_log("mqtt: subscribed: state %u, granted QoS %u", (unsigned)state, (unsigned)granted);
        check(state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && granted == 1, "subscribe response");
        got.subscribed = true;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_PUBLISHRESPONSE: {
        struct MvMqttPublishResponse r;
        if ((status = mvMqttReadPublishResponse(channel, &r)) != MV_STATUS_OKAY) fw_fail("mvMqttReadPublishResponse", status);
        fw_log("mqtt: published #%u: state %u", (unsigned)r.correlation_id, (unsigned)r.request_state);
        check(r.request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && r.correlation_id == ID_PUBLISH, "publish response");
        got.published = true;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_MESSAGERECEIVED: {
        uint8_t t[64], p[128], retain = 0;
        uint32_t id = 0, qos = 0, tlen = 0, plen = 0;
        struct MvMqttMessage m = {
            .correlation_id = &id,
            .topic = {.data = t, .size = sizeof(t), .length = &tlen},
            .payload = {.data = p, .size = sizeof(p), .length = &plen},
            .qos = &qos,
            .retain = &retain,
        };
        if ((status = mvMqttReceiveMessage(channel, &m)) != MV_STATUS_OKAY) fw_fail("mvMqttReceiveMessage", status);
        fw_log("mqtt: received on %.*s at QoS %u: %.*s", (int)tlen, (char *)t, (unsigned)qos, (int)plen, (char *)p);
        check(tlen == strlen(topic) && memcmp(t, topic, tlen) == 0, "topic");
        check(plen == sizeof(payload) - 1 && memcmp(p, payload, plen) == 0, "payload");
        if (qos > 0 && (status = mvMqttAcknowledgeMessage(channel, id)) != MV_STATUS_OKAY) fw_fail("mvMqttAcknowledgeMessage", status);
        got.received = true;
        break;
    }
    case MV_MQTTREADABLEDATATYPE_DISCONNECTRESPONSE: {
        struct MvMqttDisconnectResponse r;
        if ((status = mvMqttReadDisconnectResponse(channel, &r)) != MV_STATUS_OKAY) fw_fail("mvMqttReadDisconnectResponse", status);
        fw_log("mqtt: disconnected: state %u", (unsigned)r.request_state);
        check(r.request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED, "end of the broker session");
        got.disconnected = true;
        break;
    }
    default:
        fw_log("mqtt: readable data type %u", (unsigned)type);
        check(false, "readable data");
    }
}

/* await sleeps on the channel's notifications, reading every item each
 * time, until *flag is set. */
static void await(volatile bool *flag, const char *what) {
    while (!*flag) {
        enum MvEventType event = fw_wait(TAG_MQTT);
        if (event != MV_EVENTTYPE_CHANNELDATAREADABLE) {
            fw_log("mqtt: channel event %u while waiting for %s", (unsigned)event, what);
            fw_exit(1);
        }
        for (;;) {
            enum MvMqttReadableDataType type;
            enum MvStatus status = mvMqttGetNextReadableDataType(channel, &type);
            if (status != MV_STATUS_OKAY) fw_fail("mvMqttGetNextReadableDataType", status);
            if (type == MV_MQTTREADABLEDATATYPE_NONE || got.disconnected) break;
            read_one(type);
        }
    }
}

int main(void) {
    enum MvStatus status;
    fw_log_init();
    char device_id[35] = {0};
    if ((status = mvGetDeviceId((uint8_t *)device_id, 34)) != MV_STATUS_OKAY) fw_fail("mvGetDeviceId", status);
    snprintf(topic, sizeof(topic), "fw/%s", device_id);
    fw_log("mqtt: starting as %s", device_id);

    MvNotificationHandle notifications = fw_notify_init();
    MvNetworkHandle network = fw_network(notifications, TAG_NETWORK);
    channel = fw_open_channel(notifications, network, TAG_MQTT, MV_CHANNELTYPE_MQTT, "");

    fw_mqtt_connect(channel, FW_MQTT_HOST, FW_MQTT_PORT, device_id);
    await(&got.connected, "the connect response");

    fw_mqtt_subscribe(channel, topic, ID_SUBSCRIBE);
    await(&got.subscribed, "the subscribe response");

    struct MvMqttPublishRequest publish = {
        .correlation_id = ID_PUBLISH,
        .topic = {.data = (const uint8_t *)topic, .length = (uint32_t)strlen(topic)},
        .payload = {.data = (const uint8_t *)payload, .length = sizeof(payload) - 1},
        .desired_qos = 1,
        .retain = 0,
    };
    if ((status = mvMqttRequestPublish(channel, &publish)) != MV_STATUS_OKAY) fw_fail("mvMqttRequestPublish", status);
    await(&got.published, "the publish response");
    await(&got.received, "our own message");

    if ((status = mvMqttRequestDisconnect(channel)) != MV_STATUS_OKAY) fw_fail("mvMqttRequestDisconnect", status);
    await(&got.disconnected, "the disconnect response");
    if ((status = mvCloseChannel(&channel)) != MV_STATUS_OKAY) fw_fail("mvCloseChannel", status);
    fw_log("mqtt: done");
    return 0;
}
