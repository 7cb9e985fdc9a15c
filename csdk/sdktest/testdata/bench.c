/*
 * Costs seen from C.
 *   bench syscall N  — N calls each of mvGetNetworkStatus on a live handle,
 *                      of mvNoOp and of mvnet_go_baseline (libmvnet's bare
 *                      C→Go callback, which does nothing), alternated in
 *                      rounds of ROUND calls so that all three see the same
 *                      load; prints "getnetworkstatus_ns=… noop_ns=…
 *                      baseline_ns=…" (the median round's ns per call) and
 *                      "getnetworkstatus_ratio=… noop_ratio=…" (the median
 *                      over rounds of each round's ratio to the baseline
 *                      round next to it). Medians, because the machine may
 *                      be shared: a burst of other work spoils a few rounds,
 *                      not the figure.
 *   bench latency N  — N echoes on an OPAQUEBYTES channel; the handler
 *                      compares the record's stamp with mvGetMicroseconds
 *                      on entry; prints "latency_us_p50=… p99=… max=…".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mv_syscalls.h"
#include "stm32u585xx.h"

#define SLOTS 64
#define ROUND 1000

/* libmvnet's Go half, in no header: a cgo callback that does nothing. */
uint32_t mvnet_go_baseline(void);
static volatile struct MvNotification ring[SLOTS] __attribute__((aligned(16)));
static volatile uint32_t next_slot;
static volatile uint32_t readable;
static uint64_t *lat;
static volatile uint32_t nlat, maxlat;
static uint8_t rx[4096] __attribute__((aligned(512)));
static uint8_t tx[4096] __attribute__((aligned(512)));

void TIM8_BRK_IRQHandler(void) {
	uint64_t now = 0;
	mvGetMicroseconds(&now);
	volatile struct MvNotification *n = &ring[next_slot];
	if (n->event_type == MV_EVENTTYPE_CHANNELDATAREADABLE) {
		if (nlat < maxlat) {
			lat[nlat++] = now - n->microseconds;
		}
		readable++;
	}
	n->event_type = MV_EVENTTYPE_NOEVENT;
	next_slot = (next_slot + 1) % SLOTS;
}

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmpd(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* median sorts v. */
static double median(double *v, long n) {
	qsort(v, (size_t)n, sizeof *v, cmpd);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		return 2;
	}
	long n = atol(argv[2]);
	struct MvNotificationSetup setup = {
		.irq = TIM8_BRK_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof ring};
	MvNotificationHandle centre = 0;
	MvNetworkHandle net = 0;
	struct MvRequestNetworkParams np = {.version = 1, .v1 = {.notification_handle = centre, .notification_tag = 1}};
	if (mvSetupNotifications(&setup, &centre) != MV_STATUS_OKAY) {
		return 3;
	}
	np.v1.notification_handle = centre;
	if (mvRequestNetwork(&np, &net) != MV_STATUS_OKAY) {
		return 3;
	}
	enum MvNetworkStatus st = MV_NETWORKSTATUS_DELIBERATELYOFFLINE;
	for (int i = 0; i < 2000 && st != MV_NETWORKSTATUS_CONNECTED; i++) {
		mvGetNetworkStatus(net, &st);
		usleep(5000);
	}
	if (st != MV_NETWORKSTATUS_CONNECTED) {
		return 4;
	}
	/* Consume the network's records here, then let the handler take over
	 * at the kernel's next slot. */
	usleep(20 * 1000);
	uint32_t k = 0;
	while (k < SLOTS && ring[k].event_type != MV_EVENTTYPE_NOEVENT) {
		ring[k++].event_type = MV_EVENTTYPE_NOEVENT;
	}
	next_slot = k % SLOTS;
	NVIC_ClearPendingIRQ(TIM8_BRK_IRQn);
	NVIC_EnableIRQ(TIM8_BRK_IRQn);

	if (strcmp(argv[1], "syscall") == 0) {
		long rounds = (n + ROUND - 1) / ROUND;
		double *tg = calloc((size_t)rounds, sizeof *tg), *tn = calloc((size_t)rounds, sizeof *tn),
		       *tb = calloc((size_t)rounds, sizeof *tb), *rg = calloc((size_t)rounds, sizeof *rg),
		       *rn = calloc((size_t)rounds, sizeof *rn);
		if (!tg || !tn || !tb || !rg || !rn) {
			return 5;
		}
		for (long r = 0; r < rounds; r++) {
			long m = n - r * ROUND < ROUND ? n - r * ROUND : ROUND;
			double t0 = now_ns();
			for (long i = 0; i < m; i++) {
				if (mvGetNetworkStatus(net, &st) != MV_STATUS_OKAY) {
					return 5;
				}
			}
			double t1 = now_ns();
			for (long i = 0; i < m; i++) {
				if (mvNoOp() != MV_STATUS_OKAY) {
					return 5;
				}
			}
			double t2 = now_ns();
			for (long i = 0; i < m; i++) {
				if (mvnet_go_baseline() != 0) {
					return 5;
				}
			}
			double t3 = now_ns();
			tg[r] = (t1 - t0) / (double)m;
			tn[r] = (t2 - t1) / (double)m;
			tb[r] = (t3 - t2) / (double)m;
			rg[r] = tg[r] / tb[r];
			rn[r] = tn[r] / tb[r];
		}
		printf("getnetworkstatus_ns=%.1f noop_ns=%.1f baseline_ns=%.1f getnetworkstatus_ratio=%.3f noop_ratio=%.3f\n",
		       median(tg, rounds), median(tn, rounds), median(tb, rounds), median(rg, rounds), median(rn, rounds));
		return mvTestingComplete(0);
	}

	struct MvOpenChannelParams cp = {
		.version = 1,
		.v1 = {.notification_handle = centre,
		       .notification_tag = 2,
		       .network_handle = net,
		       .receive_buffer = rx,
		       .receive_buffer_len = sizeof rx,
		       .send_buffer = tx,
		       .send_buffer_len = sizeof tx,
		       .channel_type = MV_CHANNELTYPE_OPAQUEBYTES,
		       .endpoint = {.data = NULL, .length = 0}}};
	MvChannelHandle ch = 0;
	if (mvOpenChannel(&cp, &ch) != MV_STATUS_OKAY) {
		return 6;
	}
	lat = calloc((size_t)n, sizeof *lat);
	maxlat = (uint32_t)n;
	static const uint8_t msg[16] = "0123456789abcdef";
	for (long i = 0; i < n; i++) {
		uint32_t seen = readable, avail = 0;
		if (mvWriteChannel(ch, msg, sizeof msg, &avail) != MV_STATUS_OKAY) {
			return 7;
		}
		for (int w = 0; readable == seen && w < 1000000; w++) {
			usleep(10);
		}
		uint8_t *p = NULL;
		uint32_t len = 0;
		while (mvReadChannel(ch, &p, &len) == MV_STATUS_OKAY && len > 0) {
			mvReadChannelComplete(ch, len);
		}
	}
	NVIC_DisableIRQ(TIM8_BRK_IRQn);
	qsort(lat, nlat, sizeof *lat, cmp);
	if (nlat == 0) {
		return 8;
	}
	printf("records=%u latency_us_p50=%llu p99=%llu max=%llu\n", nlat, (unsigned long long)lat[nlat / 2],
	       (unsigned long long)lat[(nlat * 99) / 100], (unsigned long long)lat[nlat - 1]);
	return mvTestingComplete(0);
}
