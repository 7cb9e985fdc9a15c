/*
 * The whole Microvisor HTTP flow through libmvnet: notification centre,
 * network, HTTP channel, GET, the ISR flags readable data, read the status,
 * headers and body, close everything. argv[1] is the URL. Prints
 * "status=… headers=… body_length=…", each header, and the body; exits
 * (mvTestingComplete) 0 for a 200 response.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mv_syscalls.h"
#include "stm32u585xx.h"

#define SLOTS 16
static volatile struct MvNotification ring[SLOTS] __attribute__((aligned(16)));
static volatile uint32_t next_slot;
static volatile int readable, connected, not_connected;
static uint8_t rx[8192] __attribute__((aligned(512)));
static uint8_t tx[2048] __attribute__((aligned(512)));

#define TAG_NET 1
#define TAG_CHAN 2

void TIM8_BRK_IRQHandler(void) {
	volatile struct MvNotification *n = &ring[next_slot];
	if (n->tag == TAG_CHAN && n->event_type == MV_EVENTTYPE_CHANNELDATAREADABLE) {
		readable = 1;
	} else if (n->tag == TAG_CHAN && n->event_type == MV_EVENTTYPE_CHANNELNOTCONNECTED) {
		not_connected = 1;
	} else if (n->tag == TAG_NET && n->event_type == MV_EVENTTYPE_NETWORKSTATUSCHANGED) {
		connected = 1;
	}
	n->event_type = MV_EVENTTYPE_NOEVENT;
	next_slot = (next_slot + 1) % SLOTS;
}

static int fail(const char *what, enum MvStatus st) {
	printf("FAIL %s: status %d\n", what, (int)st);
	return mvTestingComplete(1);
}

int main(int argc, char **argv) {
	if (argc < 2) {
		printf("usage: http_get URL\n");
		return 2;
	}
	const char *url = argv[1];
	enum MvStatus st;

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
		return fail("network never connected", MV_STATUS_OKAY);
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
		       .channel_type = MV_CHANNELTYPE_HTTP,
		       .endpoint = {.data = NULL, .length = 0}}};
	MvChannelHandle ch = 0;
	if ((st = mvOpenChannel(&cp, &ch)) != MV_STATUS_OKAY) {
		return fail("mvOpenChannel", st);
	}

	static const char accept[] = "Accept: text/plain";
	struct MvHttpHeader hdrs[] = {{.length = sizeof accept - 1, .data = (const uint8_t *)accept}};
	struct MvHttpRequest req = {
		.method = {.data = (const uint8_t *)"GET", .length = 3},
		.url = {.data = (const uint8_t *)url, .length = (uint32_t)strlen(url)},
		.num_headers = 1,
		.headers = hdrs,
		.body = {.data = NULL, .length = 0},
		.timeout_ms = 10000,
	};
	if ((st = mvSendHttpRequest(ch, &req)) != MV_STATUS_OKAY) {
		return fail("mvSendHttpRequest", st);
	}
	for (int i = 0; i < 4000 && !readable && !not_connected; i++) {
		usleep(5000);
	}
	if (!readable) {
		return fail("no CHANNELDATAREADABLE", MV_STATUS_OKAY);
	}

	struct MvHttpResponseData rd;
	if ((st = mvReadHttpResponseData(ch, &rd)) != MV_STATUS_OKAY) {
		return fail("mvReadHttpResponseData", st);
	}
	printf("result=%d status=%u headers=%u body_length=%u\n", (int)rd.result, rd.status_code, rd.num_headers,
	       rd.body_length);
	for (uint32_t i = 0; i < rd.num_headers; i++) {
		char h[256];
		memset(h, 0, sizeof h);
		if ((st = mvReadHttpResponseHeader(ch, i, (uint8_t *)h, sizeof h - 1)) != MV_STATUS_OKAY) {
			return fail("mvReadHttpResponseHeader", st);
		}
		printf("header: %s\n", h);
	}
	char body[4096];
	uint32_t n = rd.body_length < sizeof body ? rd.body_length : (uint32_t)sizeof body;
	if ((st = mvReadHttpResponseBody(ch, 0, (uint8_t *)body, n)) != MV_STATUS_OKAY) {
		return fail("mvReadHttpResponseBody", st);
	}
	printf("body: %.*s\n", (int)n, body);

	if ((st = mvCloseChannel(&ch)) != MV_STATUS_OKAY || ch != 0) {
		return fail("mvCloseChannel", st);
	}
	if ((st = mvReleaseNetwork(&net)) != MV_STATUS_OKAY) {
		return fail("mvReleaseNetwork", st);
	}
	NVIC_DisableIRQ(TIM8_BRK_IRQn);
	if ((st = mvCloseNotifications(&centre)) != MV_STATUS_OKAY) {
		return fail("mvCloseNotifications", st);
	}
	return mvTestingComplete(rd.result == MV_HTTPRESULT_OK && rd.status_code == 200 ? 0 : 1);
}
