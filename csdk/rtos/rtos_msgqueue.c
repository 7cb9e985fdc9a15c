//go:build ignore

/*
 * rtos_msgqueue.c — CMSIS-RTOS2 message queues.
 *
 * Fixed-size messages in a ring of msg_count slots, copied in and out under
 * the queue's lock. A message with a higher msg_prio is placed ahead of
 * lower ones (equal priorities stay FIFO), as in RTX.
 *
 * Put and Get with timeout 0 never wait for space or data: they take the
 * queue's lock only for the bounded copy and return osErrorResource at once
 * when the queue is full (Put) or empty (Get). That makes them safe from an
 * interrupt handler, where a non-zero timeout is osErrorParameter.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtos_internal.h"

typedef struct {
  mvnet_rtos_obj o;
  uint32_t capacity;
  uint32_t msg_size;
  /* Guarded by o.mu: */
  uint32_t head;  /* slot of the oldest message */
  uint32_t count; /* messages queued */
  uint8_t *data;  /* capacity × msg_size bytes */
  uint8_t *prio;  /* capacity priorities, parallel to data */
} rtos_queue;

osMessageQueueId_t osMessageQueueNew(uint32_t msg_count, uint32_t msg_size, const osMessageQueueAttr_t *attr) {
  if (MVNET_RTOS_IN_ISR() || msg_size == 0U) {
    return NULL;
  }
  return mvnet_rtos_queue_new(msg_count, msg_size, attr != NULL ? attr->name : NULL);
}

void *mvnet_rtos_queue_new(uint32_t msg_count, uint32_t msg_size, const char *name) {
  if (msg_count == 0U || (uint64_t)msg_count * msg_size > (uint64_t)SIZE_MAX / 2U) {
    return NULL;
  }
  rtos_queue *q = calloc(1, sizeof *q);
  if (q == NULL) {
    return NULL;
  }
  char *copy = mvnet_rtos_strdup(name);
  /* FreeRTOS allows messages of no bytes (a queue used as a semaphore). */
  q->data = malloc((size_t)msg_count * (msg_size > 0U ? msg_size : 1U));
  q->prio = malloc(msg_count);
  if ((name != NULL && copy == NULL) || q->data == NULL || q->prio == NULL) {
    free(copy);
    free(q->data);
    free(q->prio);
    free(q);
    return NULL;
  }
  q->capacity = msg_count;
  q->msg_size = msg_size;
  mvnet_rtos_obj_init(&q->o, MVNET_RTOS_MAGIC_QUEUE, copy);
  return q;
}

const char *osMessageQueueGetName(osMessageQueueId_t mq_id) {
  rtos_queue *q = mq_id;
  return q != NULL ? mvnet_rtos_obj_name(&q->o, MVNET_RTOS_MAGIC_QUEUE) : NULL;
}

static rtos_queue *lock(osMessageQueueId_t mq_id) {
  rtos_queue *q = mq_id;
  if (q == NULL || mvnet_rtos_obj_lock(&q->o, MVNET_RTOS_MAGIC_QUEUE) != 0) {
    return NULL;
  }
  return q;
}

static uint8_t *slot(rtos_queue *q, uint32_t i) {
  return q->data + (size_t)((q->head + i) % q->capacity) * q->msg_size;
}

/* With q->o.mu held and room in q: inserts behind every message of equal or
 * higher priority. */
static void enqueue(rtos_queue *q, const void *msg, uint8_t prio) {
  uint32_t i = q->count;
  while (i > 0 && q->prio[(q->head + i - 1) % q->capacity] < prio) {
    memcpy(slot(q, i), slot(q, i - 1), q->msg_size);
    q->prio[(q->head + i) % q->capacity] = q->prio[(q->head + i - 1) % q->capacity];
    i--;
  }
  memcpy(slot(q, i), msg, q->msg_size);
  q->prio[(q->head + i) % q->capacity] = prio;
  q->count++;
}

/* With q->o.mu held and room in q: puts msg ahead of every message
 * (xQueueSendToFront), with the top priority so it stays there. */
static void enqueue_front(rtos_queue *q, const void *msg) {
  q->head = (q->head + q->capacity - 1U) % q->capacity;
  memcpy(slot(q, 0), msg, q->msg_size);
  q->prio[q->head] = UINT8_MAX;
  q->count++;
}

static void dequeue(rtos_queue *q, void *msg, uint8_t *prio) {
  memcpy(msg, slot(q, 0), q->msg_size);
  if (prio != NULL) {
    *prio = q->prio[q->head];
  }
  q->head = (q->head + 1) % q->capacity;
  q->count--;
}

/* With q->o.mu held: waits while `full_side ? count == capacity : count == 0`.
 * Returns osOK when the condition cleared, or the error to report. If the
 * queue was deleted meanwhile, *gone is set and the lock is released. */
static osStatus_t await(rtos_queue *q, int full_side, uint32_t timeout, int *gone) {
#define BLOCKED() (full_side ? q->count == q->capacity : q->count == 0U)
  if (!BLOCKED()) {
    return osOK;
  }
  if (timeout == 0U) {
    return osErrorResource;
  }
  struct timespec deadline;
  if (timeout != osWaitForever) {
    mvnet_rtos_deadline_in(&deadline, timeout);
  }
  mvnet_rtos_waiter w = {0};
  mvnet_rtos_waiter_add(&q->o, &w);
  while (BLOCKED() && !q->o.deleted) {
    if (mvnet_rtos_obj_wait(&q->o, &w, timeout != osWaitForever ? &deadline : NULL) == ETIMEDOUT) {
      break;
    }
  }
  mvnet_rtos_waiter_remove(&q->o, &w);
  if (q->o.deleted) {
    *gone = 1;
    mvnet_rtos_obj_unlock(&q->o);
    return osErrorResource;
  }
  return BLOCKED() ? osErrorTimeout : osOK;
#undef BLOCKED
}

osStatus_t osMessageQueuePut(osMessageQueueId_t mq_id, const void *msg_ptr, uint8_t msg_prio, uint32_t timeout) {
  if (MVNET_RTOS_IN_ISR() && timeout != 0U) {
    return osErrorParameter;
  }
  if (msg_ptr == NULL) {
    return osErrorParameter;
  }
  return mvnet_rtos_queue_put(mq_id, msg_ptr, MVNET_QUEUE_PRIO, msg_prio, timeout, NULL);
}

osStatus_t mvnet_rtos_queue_put(void *mq_id, const void *msg_ptr, int where, uint8_t msg_prio, uint32_t timeout,
                                int *woke) {
  rtos_queue *q = lock(mq_id);
  if (q == NULL) {
    return osErrorParameter;
  }
  if (where == MVNET_QUEUE_OVERWRITE && q->count == q->capacity) {
    /* xQueueOverwrite (queues of one): the newest message replaces the last. */
    memcpy(slot(q, q->count - 1U), msg_ptr, q->msg_size);
  } else {
    int gone = 0;
    osStatus_t st = await(q, 1, where == MVNET_QUEUE_OVERWRITE ? 0U : timeout, &gone);
    if (gone) {
      return st;
    }
    if (st != osOK) {
      mvnet_rtos_obj_unlock(&q->o);
      return st;
    }
    if (where == MVNET_QUEUE_FRONT) {
      enqueue_front(q, msg_ptr);
    } else {
      enqueue(q, msg_ptr, where == MVNET_QUEUE_PRIO ? msg_prio : 0U);
    }
  }
  if (woke != NULL && q->o.head != NULL) {
    *woke = 1;
  }
  mvnet_rtos_obj_broadcast(&q->o);
  mvnet_rtos_obj_unlock(&q->o);
  return osOK;
}

osStatus_t osMessageQueueGet(osMessageQueueId_t mq_id, void *msg_ptr, uint8_t *msg_prio, uint32_t timeout) {
  if (MVNET_RTOS_IN_ISR() && timeout != 0U) {
    return osErrorParameter;
  }
  if (msg_ptr == NULL) {
    return osErrorParameter;
  }
  return mvnet_rtos_queue_get(mq_id, msg_ptr, msg_prio, 0, timeout, NULL);
}

osStatus_t mvnet_rtos_queue_get(void *mq_id, void *msg_ptr, uint8_t *msg_prio, int peek, uint32_t timeout,
                                int *woke) {
  rtos_queue *q = lock(mq_id);
  if (q == NULL) {
    return osErrorParameter;
  }
  int gone = 0;
  osStatus_t st = await(q, 0, timeout, &gone);
  if (gone) {
    return st;
  }
  if (st == osOK) {
    if (peek) {
      memcpy(msg_ptr, slot(q, 0), q->msg_size);
      if (msg_prio != NULL) {
        *msg_prio = q->prio[q->head];
      }
    } else {
      dequeue(q, msg_ptr, msg_prio);
    }
    if (woke != NULL && q->o.head != NULL) {
      *woke = 1;
    }
    mvnet_rtos_obj_broadcast(&q->o);
  }
  mvnet_rtos_obj_unlock(&q->o);
  return st;
}

/* Reads one field under the lock; 0 for an invalid id. */
static uint32_t read_field(osMessageQueueId_t mq_id, int which) {
  rtos_queue *q = lock(mq_id);
  if (q == NULL) {
    return 0U;
  }
  uint32_t v;
  switch (which) {
  case 0: v = q->capacity; break;
  case 1: v = q->msg_size; break;
  case 2: v = q->count; break;
  default: v = q->capacity - q->count; break;
  }
  mvnet_rtos_obj_unlock(&q->o);
  return v;
}

uint32_t osMessageQueueGetCapacity(osMessageQueueId_t mq_id) {
  return read_field(mq_id, 0);
}

uint32_t osMessageQueueGetMsgSize(osMessageQueueId_t mq_id) {
  return read_field(mq_id, 1);
}

uint32_t osMessageQueueGetCount(osMessageQueueId_t mq_id) {
  return read_field(mq_id, 2);
}

uint32_t osMessageQueueGetSpace(osMessageQueueId_t mq_id) {
  return read_field(mq_id, 3);
}

osStatus_t osMessageQueueReset(osMessageQueueId_t mq_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  rtos_queue *q = lock(mq_id);
  if (q == NULL) {
    return osErrorParameter;
  }
  q->head = 0;
  q->count = 0;
  mvnet_rtos_obj_broadcast(&q->o); /* blocked senders now have room */
  mvnet_rtos_obj_unlock(&q->o);
  return osOK;
}

osStatus_t osMessageQueueDelete(osMessageQueueId_t mq_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  return mvnet_rtos_queue_delete(mq_id);
}

osStatus_t mvnet_rtos_queue_delete(void *mq_id) {
  rtos_queue *q = lock(mq_id);
  if (q == NULL) {
    return osErrorParameter;
  }
  mvnet_rtos_obj_delete(&q->o);
  free(q->data);
  free(q->prio);
  free(q);
  return osOK;
}
