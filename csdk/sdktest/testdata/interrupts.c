/*
 * Interrupt delivery through libmvnet: one handler call per notification
 * record, none while the IRQ is disabled, pends kept and delivered on
 * enable, priorities, masking, NVIC_DisableIRQ waiting for a running
 * handler, system calls from a handler, an IRQ without a handler.
 * Exits (mvTestingComplete) with the number of failed checks.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mv_syscalls.h"
#include "mvnet.h"
#include "stm32u585xx.h"

static int failures;
#define CHECK(cond, ...)                                     \
	do {                                                     \
		if (!(cond)) {                                       \
			failures++;                                      \
			printf("FAIL line %d: %s: ", __LINE__, #cond);   \
			printf(__VA_ARGS__);                             \
			printf("\n");                                    \
		}                                                    \
	} while (0)

#define SLOTS 8
static volatile struct MvNotification ring[SLOTS] __attribute__((aligned(16)));
static volatile uint32_t next_slot;
static volatile int brk_calls, brk_records, brk_bad;
static pthread_t main_thread;
static volatile int handler_on_main;

/* The Microvisor ISR pattern: take the record in the next slot, clear it. */
void TIM8_BRK_IRQHandler(void) {
	brk_calls++;
	if (pthread_equal(pthread_self(), main_thread)) {
		handler_on_main = 1;
	}
	volatile struct MvNotification *n = &ring[next_slot];
	if (n->event_type == MV_EVENTTYPE_NETWORKSTATUSCHANGED && n->tag == 7) {
		brk_records++;
	} else {
		brk_bad++;
	}
	n->event_type = MV_EVENTTYPE_NOEVENT;
	next_slot = (next_slot + 1) % SLOTS;
}

static volatile int order[8];
static volatile int norder;
void TIM1_BRK_IRQHandler(void) { order[norder++] = TIM1_BRK_IRQn; }
void TIM2_IRQHandler(void) { order[norder++] = TIM2_IRQn; }
void TIM3_IRQHandler(void) { order[norder++] = TIM3_IRQn; }

static volatile int slow_done;
void TIM4_IRQHandler(void) {
	usleep(100 * 1000);
	slow_done = 1;
}

static volatile enum MvStatus from_handler_bad, from_handler_good;
static volatile uint64_t from_handler_us;
void TIM5_IRQHandler(void) {
	from_handler_bad = mvGetMicroseconds((uint64_t *)8);
	uint64_t us = 0;
	from_handler_good = mvGetMicroseconds(&us);
	from_handler_us = us;
}

static int ring_records(void) {
	int n = 0;
	for (int i = 0; i < SLOTS; i++) {
		n += ring[i].event_type != MV_EVENTTYPE_NOEVENT;
	}
	return n;
}

int main(void) {
	main_thread = pthread_self();

	/* A centre on TIM8_BRK, its IRQ left disabled. */
	struct MvNotificationSetup setup = {
		.irq = TIM8_BRK_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof ring};
	MvNotificationHandle centre = 0;
	CHECK(mvSetupNotifications(&setup, &centre) == MV_STATUS_OKAY, "setup");
	CHECK(NVIC_GetEnableIRQ(TIM8_BRK_IRQn) == 0, "enabled before NVIC_EnableIRQ");

	/* Network status changes post records (CONNECTING, CONNECTED). */
	struct MvRequestNetworkParams rp = {.version = 1, .v1 = {.notification_handle = centre, .notification_tag = 7}};
	MvNetworkHandle net = 0;
	CHECK(mvRequestNetwork(&rp, &net) == MV_STATUS_OKAY, "request network");
	enum MvNetworkStatus st = MV_NETWORKSTATUS_DELIBERATELYOFFLINE;
	for (int i = 0; i < 3000 && st != MV_NETWORKSTATUS_CONNECTED; i++) { /* 30 s deadline */
		mvGetNetworkStatus(net, &st);
		usleep(10 * 1000);
	}
	CHECK(st == MV_NETWORKSTATUS_CONNECTED, "status %d", st);

	/* Disabled: nothing delivered, every record kept as a pend. The records
	 * may land just after the status reads CONNECTED: wait for both, and
	 * for their pends (30 s deadline). */
	for (int i = 0; i < 30000 && (ring_records() < 2 || mvnet_irq_pending_count(TIM8_BRK_IRQn) != (uint32_t)ring_records());
	     i++) {
		usleep(1000);
	}
	int written = ring_records();
	CHECK(written >= 2, "%d records", written);
	CHECK(brk_calls == 0, "handler ran %d times while disabled", brk_calls);
	CHECK(mvnet_irq_pending_count(TIM8_BRK_IRQn) == (uint32_t)written, "pending %u, records %d",
	      mvnet_irq_pending_count(TIM8_BRK_IRQn), written);
	CHECK(NVIC_GetPendingIRQ(TIM8_BRK_IRQn) == 1, "not pending");

	/* Enabled: one call per record, on the interrupt thread. */
	NVIC_EnableIRQ(TIM8_BRK_IRQn);
	CHECK(mvnet_irq_wait_idle(5000), "not idle");
	CHECK(brk_calls == written && brk_records == written && brk_bad == 0, "calls %d records %d bad %d of %d",
	      brk_calls, brk_records, brk_bad, written);
	CHECK(mvnet_irq_pending_count(TIM8_BRK_IRQn) == 0, "still pending");
	CHECK(mvnet_irq_delivered_count(TIM8_BRK_IRQn) == (uint64_t)written, "delivered %llu",
	      (unsigned long long)mvnet_irq_delivered_count(TIM8_BRK_IRQn));
	CHECK(!handler_on_main, "handler ran on the main thread");

	/* NVIC_SetPendingIRQ sets one pending bit; Clear drops it. */
	NVIC_DisableIRQ(TIM8_BRK_IRQn);
	NVIC_SetPendingIRQ(TIM8_BRK_IRQn);
	NVIC_SetPendingIRQ(TIM8_BRK_IRQn);
	CHECK(mvnet_irq_pending_count(TIM8_BRK_IRQn) == 1, "pending %u", mvnet_irq_pending_count(TIM8_BRK_IRQn));
	NVIC_ClearPendingIRQ(TIM8_BRK_IRQn);
	CHECK(NVIC_GetPendingIRQ(TIM8_BRK_IRQn) == 0, "pending after clear");

	/* Priorities: lowest value first, then lowest number; masking holds
	 * everything back until __enable_irq. */
	NVIC_SetPriority(TIM1_BRK_IRQn, 3);
	NVIC_SetPriority(TIM2_IRQn, 1);
	NVIC_SetPriority(TIM3_IRQn, 1);
	CHECK(NVIC_GetPriority(TIM2_IRQn) == 1 && NVIC_GetPriority(TIM1_BRK_IRQn) == 3, "priorities");
	__disable_irq();
	CHECK(__get_PRIMASK() == 1, "PRIMASK");
	NVIC_SetPendingIRQ(TIM1_BRK_IRQn);
	NVIC_SetPendingIRQ(TIM3_IRQn);
	NVIC_SetPendingIRQ(TIM2_IRQn);
	NVIC_EnableIRQ(TIM1_BRK_IRQn);
	NVIC_EnableIRQ(TIM2_IRQn);
	NVIC_EnableIRQ(TIM3_IRQn);
	usleep(20 * 1000);
	CHECK(norder == 0, "%d handlers ran while masked", norder);
	__enable_irq();
	CHECK(mvnet_irq_wait_idle(5000), "not idle");
	CHECK(norder == 3 && order[0] == TIM2_IRQn && order[1] == TIM3_IRQn && order[2] == TIM1_BRK_IRQn,
	      "order %d: %d %d %d", norder, order[0], order[1], order[2]);

	/* NVIC_DisableIRQ returns only once a running handler has returned. */
	NVIC_SetPendingIRQ(TIM4_IRQn);
	NVIC_EnableIRQ(TIM4_IRQn);
	for (int i = 0; i < 30000 && !NVIC_GetActive(TIM4_IRQn) && !slow_done; i++) { /* 30 s deadline */
		usleep(1000);
	}
	NVIC_DisableIRQ(TIM4_IRQn);
	CHECK(slow_done, "NVIC_DisableIRQ returned while the handler ran");

	/* A handler may make system calls; a wild pointer there is a status. */
	NVIC_SetPendingIRQ(TIM5_IRQn);
	NVIC_EnableIRQ(TIM5_IRQn);
	CHECK(mvnet_irq_wait_idle(5000), "not idle");
	CHECK(from_handler_bad == MV_STATUS_PARAMETERFAULT && from_handler_good == MV_STATUS_OKAY && from_handler_us > 0,
	      "from handler: %d %d %llu", from_handler_bad, from_handler_good, (unsigned long long)from_handler_us);

	/* No handler defined: consumed, recorded, no crash. */
	NVIC_SetPendingIRQ(TIM8_UP_IRQn);
	NVIC_EnableIRQ(TIM8_UP_IRQn);
	CHECK(mvnet_irq_wait_idle(5000), "not idle");
	CHECK(mvnet_irq_delivered_count(TIM8_UP_IRQn) == 1, "unhandled IRQ not consumed");

	/* CMSIS priority encoding with 4 priority bits: group 5 leaves 2 preemption and 2 sub-priority bits. */
	uint32_t pre = 9, sub = 9;
	NVIC_DecodePriority(NVIC_EncodePriority(5, 2, 1), 5, &pre, &sub);
	CHECK(NVIC_EncodePriority(5, 2, 1) == 9 && pre == 2 && sub == 1, "encode %u: %u %u",
	      NVIC_EncodePriority(5, 2, 1), pre, sub);

	/* Closing the centre: no more pends for it. */
	CHECK(mvReleaseNetwork(&net) == MV_STATUS_OKAY && net == 0, "release");
	CHECK(mvCloseNotifications(&centre) == MV_STATUS_OKAY && centre == 0, "close");

	printf("records=%d failures=%d\n", written, failures);
	return mvTestingComplete((uint32_t)failures);
}
