/*
 * mqtt_unread: an MQTT session whose receive ring fills with data the image
 * has not read, so the cloud must hold replies back until the image reads
 * and returns credit (docs/firmware.md "Time and determinism"). Network,
 * MQTT channel, connect to FW_MQTT_HOST:FW_MQTT_PORT, subscribe to
 * fw/<device id> at QoS 1, then publish FW_BURST messages of FW_SIZE bytes
 * there without reading anything (a publish the send ring has no room for
 * is retried after a 10 ms SysTick sleep), sleep FW_IDLE_MS more, and only
 * then read: every publish response and every message back (acknowledged),
 * each logged with its virtual time (mvGetMicroseconds). Ends with a
 * disconnect; mvTestingComplete(0) when every message came back intact.
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
#ifndef FW_BURST
#define FW_BURST 12u /* within the kernel's 16 publishes in flight */
#endif
#ifndef FW_SIZE
#define FW_SIZE 400u /* FW_BURST messages back overflow fw.c's 4 KiB receive ring */
#endif
#ifndef FW_IDLE_MS
#define FW_IDLE_MS 50u
#endif

#define TAG_NETWORK 1
#define TAG_MQTT 2
#define ID_SUBSCRIBE 100
#define TICK_MS 10u

static volatile uint32_t ticks;
void SysTick_Handler(void) { ticks++; }

static void sleep_ms(uint32_t ms) {
    uint32_t end = ticks + (ms + TICK_MS - 1u) / TICK_MS;
    while ((int32_t)(ticks - end) < 0) fw_wfi();
}

static unsigned long now_us(void) {
    uint64_t us = 0;
    enum MvStatus status = mvGetMicroseconds(&us);
    if (status != MV_STATUS_OKAY) fw_fail("mvGetMicroseconds", status);
    return (unsigned long)us; /* newlib nano prints no 64-bit numbers */
}

static MvChannelHandle channel;
static char topic[64];
static uint8_t payload[FW_SIZE];
static struct {
    bool connected, subscribed, disconnected;
    uint32_t published, received;
} got;

static void expect(bool ok, const char *what) {
    if (!ok) {
        fw_log("mqtt_unread: unexpected %s", what);
        fw_exit(1);
    }
}

/* read_all reads every item there is now. */
static void read_all(void) {
    enum MvStatus status;
    for (;;) {
        enum MvMqttReadableDataType type;
        if ((status = mvMqttGetNextReadableDataType(channel, &type)) != MV_STATUS_OKAY) fw_fail("mvMqttGetNextReadableDataType", status);
        switch (type) {
        case MV_MQTTREADABLEDATATYPE_NONE:
            return;
        case MV_MQTTREADABLEDATATYPE_CONNECTRESPONSE: {
            struct MvMqttConnectResponse r;
            if ((status = mvMqttReadConnectResponse(channel, &r)) != MV_STATUS_OKAY) fw_fail("mvMqttReadConnectResponse", status);
            expect(r.request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED && r.reason_code == 0, "connect response");
            got.connected = true;
            break;
        }
        case MV_MQTTREADABLEDATATYPE_SUBSCRIBERESPONSE: {
            uint32_t granted = 0;
            expect(fw_mqtt_read_subscribe(channel, ID_SUBSCRIBE, &granted) == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED, "subscribe response");
            got.subscribed = true;
            break;
        }
        case MV_MQTTREADABLEDATATYPE_PUBLISHRESPONSE: {
            struct MvMqttPublishResponse r;
            if ((status = mvMqttReadPublishResponse(channel, &r)) != MV_STATUS_OKAY) fw_fail("mvMqttReadPublishResponse", status);
            expect(r.request_state == MV_MQTTREQUESTSTATE_REQUESTCOMPLETED, "publish response");
            got.published++;
            fw_log("mqtt_unread: publish %u acknowledged at %lu us", (unsigned)r.correlation_id, now_us());
            break;
        }
        case MV_MQTTREADABLEDATATYPE_MESSAGERECEIVED: {
            static uint8_t t[64], p[FW_SIZE];
            uint8_t retain = 0;
            uint32_t id = 0, qos = 0, tlen = 0, plen = 0;
            struct MvMqttMessage m = {
                .correlation_id = &id,
                .topic = {.data = t, .size = sizeof(t), .length = &tlen},
                .payload = {.data = p, .size = sizeof(p), .length = &plen},
                .qos = &qos,
                .retain = &retain,
            };
            if ((status = mvMqttReceiveMessage(channel, &m)) != MV_STATUS_OKAY) fw_fail("mvMqttReceiveMessage", status);
            expect(plen == FW_SIZE && p[0] == (uint8_t)('A' + got.received % 26u), "message payload");
            if (qos > 0 && (status = mvMqttAcknowledgeMessage(channel, id)) != MV_STATUS_OKAY) fw_fail("mvMqttAcknowledgeMessage", status);
            got.received++;
            fw_log("mqtt_unread: message %u back at %lu us", (unsigned)got.received, now_us());
            break;
        }
        case MV_MQTTREADABLEDATATYPE_DISCONNECTRESPONSE: {
            struct MvMqttDisconnectResponse r;
            if ((status = mvMqttReadDisconnectResponse(channel, &r)) != MV_STATUS_OKAY) fw_fail("mvMqttReadDisconnectResponse", status);
            got.disconnected = true;
            return;
        }
        default:
            expect(false, "readable data");
        }
    }
}

/* until sleeps on the channel's notifications, reading everything each
 * time, until done() holds. */
static void until(bool (*done)(void)) {
    while (!done()) {
        enum MvEventType event = fw_wait(TAG_MQTT);
        expect(event == MV_EVENTTYPE_CHANNELDATAREADABLE, "channel event");
        read_all();
    }
}
static bool connected(void) { return got.connected; }
static bool subscribed(void) { return got.subscribed; }
static bool all_back(void) { return got.published == FW_BURST && got.received == FW_BURST; }
static bool disconnected(void) { return got.disconnected; }

int main(void) {
    enum MvStatus status;
    fw_log_init();
    SYST_RVR = 160000000u / 1000u * TICK_MS - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;
    char device_id[35] = {0};
    if ((status = mvGetDeviceId((uint8_t *)device_id, 34)) != MV_STATUS_OKAY) fw_fail("mvGetDeviceId", status);
    snprintf(topic, sizeof(topic), "fw/%s", device_id);

    MvNotificationHandle notifications = fw_notify_init();
    MvNetworkHandle network = fw_network(notifications, TAG_NETWORK);
    channel = fw_open_channel(notifications, network, TAG_MQTT, MV_CHANNELTYPE_MQTT, "");

    fw_mqtt_connect(channel, FW_MQTT_HOST, FW_MQTT_PORT, device_id);
    until(connected);
    fw_mqtt_subscribe(channel, topic, ID_SUBSCRIBE);
    until(subscribed);

    /* The burst: nothing is read until every message is sent. */
    for (uint32_t i = 0; i < FW_BURST; i++) {
        memset(payload, 'A' + (int)(i % 26u), sizeof(payload));
        struct MvMqttPublishRequest publish = {
            .correlation_id = i + 1u,
            .topic = {.data = (const uint8_t *)topic, .length = (uint32_t)strlen(topic)},
            .payload = {.data = payload, .length = sizeof(payload)},
            .desired_qos = 1,
            .retain = 0,
        };
        while ((status = mvMqttRequestPublish(channel, &publish)) == MV_STATUS_RATELIMITED) sleep_ms(TICK_MS);
        if (status != MV_STATUS_OKAY) fw_fail("mvMqttRequestPublish", status);
    }
    fw_log("mqtt_unread: %u messages sent at %lu us", (unsigned)FW_BURST, now_us());
    sleep_ms(FW_IDLE_MS);
    read_all();
    until(all_back);

    if ((status = mvMqttRequestDisconnect(channel)) != MV_STATUS_OKAY) fw_fail("mvMqttRequestDisconnect", status);
    until(disconnected);
    if ((status = mvCloseChannel(&channel)) != MV_STATUS_OKAY) fw_fail("mvCloseChannel", status);
    fw_log("mqtt_unread: done");
    return 0;
}
