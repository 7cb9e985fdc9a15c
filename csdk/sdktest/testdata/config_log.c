/*
 * Config fetch and server logging through libmvnet's embedded cloud and its
 * store, seeded by MVNET_CONFIG_FILE (config_log_test.go). Initialises
 * server logging, logs before and after requesting a network, fetches an
 * account config, an account secret, a device config, a device secret and
 * a missing key on a CONFIGFETCH channel, checks every item's result and
 * value, logs the outcome, releases the network, logs while offline,
 * requests the network again, logs, and exits (mvTestingComplete) 0 if all
 * is well.
 * Prints "item N: result=R value=V" for each item.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mv_syscalls.h"
#include "stm32u585xx.h"

#define SLOTS 16
static volatile struct MvNotification ring[SLOTS] __attribute__((aligned(16)));
static volatile uint32_t next_slot;
static volatile int readable, not_connected;
static uint8_t logbuf[2048] __attribute__((aligned(512)));
static uint8_t rx[4096] __attribute__((aligned(512)));
static uint8_t tx[1024] __attribute__((aligned(512)));

#define TAG_NET 1
#define TAG_CHAN 2

void TIM8_BRK_IRQHandler(void) {
	volatile struct MvNotification *n = &ring[next_slot];
	if (n->tag == TAG_CHAN && n->event_type == MV_EVENTTYPE_CHANNELDATAREADABLE) {
		readable = 1;
	} else if (n->tag == TAG_CHAN && n->event_type == MV_EVENTTYPE_CHANNELNOTCONNECTED) {
		not_connected = 1;
	}
	n->event_type = MV_EVENTTYPE_NOEVENT;
	next_slot = (next_slot + 1) % SLOTS;
}

static int fail(const char *what, int st) {
	printf("FAIL %s: %d\n", what, st);
	return mvTestingComplete(1);
}

static enum MvStatus logf_(const char *s) {
	return mvServerLog((const uint8_t *)s, (uint16_t)strlen(s));
}

struct want {
	enum MvConfigKeyFetchScope scope;
	enum MvConfigKeyFetchStore store;
	const char *key;
	enum MvConfigKeyFetchResult result;
	const char *value;
};

static const struct want wants[] = {
	{MV_CONFIGKEYFETCHSCOPE_ACCOUNT, MV_CONFIGKEYFETCHSTORE_CONFIG, "broker-host", MV_CONFIGKEYFETCHRESULT_OK, "mqtt.example.com"},
	{MV_CONFIGKEYFETCHSCOPE_ACCOUNT, MV_CONFIGKEYFETCHSTORE_SECRET, "api-key", MV_CONFIGKEYFETCHRESULT_OK, "s3cr3t-account"},
	{MV_CONFIGKEYFETCHSCOPE_ACCOUNT, MV_CONFIGKEYFETCHSTORE_CONFIG, "no-such-key", MV_CONFIGKEYFETCHRESULT_KEYNOTFOUND, ""},
	{MV_CONFIGKEYFETCHSCOPE_DEVICE, MV_CONFIGKEYFETCHSTORE_CONFIG, "device-name", MV_CONFIGKEYFETCHRESULT_OK, "kitchen sensor"},
	{MV_CONFIGKEYFETCHSCOPE_DEVICE, MV_CONFIGKEYFETCHSTORE_SECRET, "device-token", MV_CONFIGKEYFETCHRESULT_OK, "tok-42"},
	/* the account's secret is not the device's */
	{MV_CONFIGKEYFETCHSCOPE_DEVICE, MV_CONFIGKEYFETCHSTORE_SECRET, "api-key", MV_CONFIGKEYFETCHRESULT_KEYNOTFOUND, ""},
};
#define NKEYS (sizeof wants / sizeof wants[0])

int main(void) {
	enum MvStatus st;

	if ((st = logf_("too early")) != MV_STATUS_UNAVAILABLE) {
		return fail("mvServerLog before init", st);
	}
	if ((st = mvServerLoggingInit(logbuf, sizeof logbuf)) != MV_STATUS_OKAY) {
		return fail("mvServerLoggingInit", st);
	}
	if ((st = logf_("boot: before the network 1")) != MV_STATUS_OKAY) {
		return fail("mvServerLog", st);
	}
	if ((st = logf_("boot: before the network 2")) != MV_STATUS_OKAY) {
		return fail("mvServerLog", st);
	}

	struct MvNotificationSetup setup = {
		.irq = TIM8_BRK_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof ring};
	MvNotificationHandle centre = 0;
	if ((st = mvSetupNotifications(&setup, &centre)) != MV_STATUS_OKAY) {
		return fail("mvSetupNotifications", st);
	}
	NVIC_ClearPendingIRQ(TIM8_BRK_IRQn);
	NVIC_EnableIRQ(TIM8_BRK_IRQn);

	struct MvRequestNetworkParams np = {.version = 1, .v1 = {.notification_handle = centre, .notification_tag = TAG_NET}};
	MvNetworkHandle net = 0;
	if ((st = mvRequestNetwork(&np, &net)) != MV_STATUS_OKAY) {
		return fail("mvRequestNetwork", st);
	}
	enum MvNetworkStatus ns = MV_NETWORKSTATUS_DELIBERATELYOFFLINE;
	for (int i = 0; i < 2000 && ns != MV_NETWORKSTATUS_CONNECTED; i++) {
		if ((st = mvGetNetworkStatus(net, &ns)) != MV_STATUS_OKAY) {
			return fail("mvGetNetworkStatus", st);
		}
		usleep(5000);
	}
	if (ns != MV_NETWORKSTATUS_CONNECTED) {
		return fail("network never connected", 0);
	}
	if ((st = logf_("net: connected")) != MV_STATUS_OKAY) {
		return fail("mvServerLog", st);
	}

	struct MvOpenChannelParams cp = {
		.version = 1,
		.v1 = {.notification_handle = centre,
		       .notification_tag = TAG_CHAN,
		       .network_handle = net,
		       .receive_buffer = rx,
		       .receive_buffer_len = sizeof rx,
		       .send_buffer = tx,
		       .send_buffer_len = sizeof tx,
		       .channel_type = MV_CHANNELTYPE_CONFIGFETCH,
		       .endpoint = {.data = NULL, .length = 0}}};
	MvChannelHandle ch = 0;
	if ((st = mvOpenChannel(&cp, &ch)) != MV_STATUS_OKAY) {
		return fail("mvOpenChannel", st);
	}
	struct MvConfigKeyToFetch keys[NKEYS];
	for (unsigned i = 0; i < NKEYS; i++) {
		keys[i] = (struct MvConfigKeyToFetch){
			.scope = wants[i].scope,
			.store = wants[i].store,
			.key = {.data = (const uint8_t *)wants[i].key, .length = (uint32_t)strlen(wants[i].key)}};
	}
	struct MvConfigKeyFetchParams req = {.num_items = NKEYS, .keys_to_fetch = keys};
	if ((st = mvSendConfigFetchRequest(ch, &req)) != MV_STATUS_OKAY) {
		return fail("mvSendConfigFetchRequest", st);
	}
	for (int i = 0; i < 4000 && !readable && !not_connected; i++) {
		usleep(5000);
	}
	if (!readable) {
		return fail("no CHANNELDATAREADABLE", not_connected);
	}
	struct MvConfigResponseData rd;
	if ((st = mvReadConfigFetchResponseData(ch, &rd)) != MV_STATUS_OKAY) {
		return fail("mvReadConfigFetchResponseData", st);
	}
	if (rd.result != MV_CONFIGFETCHRESULT_OK || rd.num_items != NKEYS) {
		printf("response: result=%d num_items=%u\n", (int)rd.result, rd.num_items);
		return fail("response data", (int)rd.result);
	}
	int bad = 0;
	for (uint32_t i = 0; i < NKEYS; i++) {
		enum MvConfigKeyFetchResult res = MV_CONFIGKEYFETCHRESULT_SERVERERROR;
		char val[256];
		uint32_t len = 0;
		memset(val, 0, sizeof val);
		struct MvConfigResponseReadItemParams ip = {
			.item_index = i, .result = &res, .buf = {.data = (uint8_t *)val, .size = sizeof val - 1, .length = &len}};
		if ((st = mvReadConfigResponseItem(ch, &ip)) != MV_STATUS_OKAY) {
			return fail("mvReadConfigResponseItem", st);
		}
		printf("item %u: result=%d value=%.*s\n", i, (int)res, (int)len, val);
		if (res != wants[i].result ||
		    (res == MV_CONFIGKEYFETCHRESULT_OK && (len != strlen(wants[i].value) || memcmp(val, wants[i].value, len) != 0))) {
			printf("MISMATCH item %u (%s): want result=%d value=%s\n", i, wants[i].key, (int)wants[i].result, wants[i].value);
			bad = 1;
		}
	}
	if ((st = mvCloseChannel(&ch)) != MV_STATUS_OKAY) {
		return fail("mvCloseChannel", st);
	}
	char line[128];
	snprintf(line, sizeof line, "config: %u items fetched, %s", (unsigned)NKEYS, bad ? "MISMATCH" : "all as expected");
	if ((st = logf_(line)) != MV_STATUS_OKAY) {
		return fail("mvServerLog", st);
	}
	if ((st = mvReleaseNetwork(&net)) != MV_STATUS_OKAY) {
		return fail("mvReleaseNetwork", st);
	}
	/* No network is requested now, so there is no link: the line waits in
	 * the log buffer (with any line the release cut off) until the next
	 * request brings a link up, and is then sent once, in order. */
	if ((st = logf_("offline: network released")) != MV_STATUS_OKAY) {
		return fail("mvServerLog", st);
	}
	if ((st = mvRequestNetwork(&np, &net)) != MV_STATUS_OKAY) {
		return fail("mvRequestNetwork again", st);
	}
	ns = MV_NETWORKSTATUS_DELIBERATELYOFFLINE;
	for (int i = 0; i < 2000 && ns != MV_NETWORKSTATUS_CONNECTED; i++) {
		if ((st = mvGetNetworkStatus(net, &ns)) != MV_STATUS_OKAY) {
			return fail("mvGetNetworkStatus", st);
		}
		usleep(5000);
	}
	if (ns != MV_NETWORKSTATUS_CONNECTED) {
		return fail("network never connected again", 0);
	}
	if ((st = logf_("net: connected again")) != MV_STATUS_OKAY) {
		return fail("mvServerLog", st);
	}
	printf("%s\n", bad ? "FAIL" : "OK");
	/* Exit with the network held: the library waits (a little) for the
	 * logged lines to be stored and echoed. */
	return mvTestingComplete(bad);
}
