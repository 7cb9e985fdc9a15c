//go:build ignore

/*
 * rtos_sync.c — CMSIS-RTOS2 mutexes and semaphores.
 *
 * Mutexes follow RTX: the owner may re-acquire only with osMutexRecursive
 * (otherwise osErrorResource), only the owner may release, and a thread that
 * terminates releases what it owns. Priority inheritance is not emulated
 * (host priorities do not order execution anyway); osMutexRobust adds
 * nothing because every mutex is released when its owner terminates.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>

#include "rtos_internal.h"

/* ---- Mutexes -------------------------------------------------------------- */

osMutexId_t osMutexNew(const osMutexAttr_t *attr) {
  if (MVNET_RTOS_IN_ISR()) {
    return NULL;
  }
  mvnet_rtos_mutex *m = calloc(1, sizeof *m);
  if (m == NULL) {
    return NULL;
  }
  const char *name = attr != NULL ? attr->name : NULL;
  char *copy = mvnet_rtos_strdup(name);
  if (name != NULL && copy == NULL) {
    free(m);
    return NULL;
  }
  m->attr_bits = attr != NULL ? attr->attr_bits : 0U;
  mvnet_rtos_obj_init(&m->o, MVNET_RTOS_MAGIC_MUTEX, copy);
  return m;
}

const char *osMutexGetName(osMutexId_t mutex_id) {
  mvnet_rtos_mutex *m = mutex_id;
  return m != NULL ? mvnet_rtos_obj_name(&m->o, MVNET_RTOS_MAGIC_MUTEX) : NULL;
}

/* With m->o.mu held and m free: the caller becomes its owner. */
static void take(mvnet_rtos_mutex *m) {
  m->owner = mvnet_rtos_thread_token();
  m->owner_id = mvnet_rtos_self();
  m->count = 1;
  mvnet_rtos_owned_add(m);
}

osStatus_t osMutexAcquire(osMutexId_t mutex_id, uint32_t timeout) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  return mvnet_rtos_mutex_acquire(mutex_id, timeout, MVNET_MUTEX_CMSIS);
}

osStatus_t mvnet_rtos_mutex_acquire(void *mutex_id, uint32_t timeout, int mode) {
  mvnet_rtos_mutex *m = mutex_id;
  if (m == NULL || mvnet_rtos_obj_lock(&m->o, MVNET_RTOS_MAGIC_MUTEX) != 0) {
    return osErrorParameter;
  }
  const void *me = mvnet_rtos_thread_token();
  osStatus_t st = osOK;
  int nests = mode == MVNET_MUTEX_RECURSIVE || (mode == MVNET_MUTEX_CMSIS && (m->attr_bits & osMutexRecursive) != 0U);
  if (m->owner == me && (nests || mode == MVNET_MUTEX_CMSIS)) {
    if (!nests || m->count == UINT32_MAX) {
      st = osErrorResource;
    } else {
      m->count++;
    }
  } else if (m->owner == NULL) {
    take(m);
  } else if (timeout == 0U) {
    st = osErrorResource;
  } else {
    struct timespec deadline;
    if (timeout != osWaitForever) {
      mvnet_rtos_deadline_in(&deadline, timeout);
    }
    /* FreeRTOS's xSemaphoreTake by the holder itself lands here too and
     * waits for its timeout, as on the device. */
    mvnet_rtos_waiter w = {0};
    mvnet_rtos_waiter_add(&m->o, &w);
    while (m->owner != NULL && !m->o.deleted) {
      if (mvnet_rtos_obj_wait(&m->o, &w, timeout != osWaitForever ? &deadline : NULL) == ETIMEDOUT) {
        break;
      }
    }
    mvnet_rtos_waiter_remove(&m->o, &w);
    if (m->o.deleted) {
      mvnet_rtos_obj_unlock(&m->o);
      return osErrorResource;
    }
    if (m->owner == NULL) {
      take(m);
    } else {
      st = osErrorTimeout;
    }
  }
  mvnet_rtos_obj_unlock(&m->o);
  return st;
}

/* With m->o.mu held: frees m and wakes its waiters. */
static void give_up(mvnet_rtos_mutex *m) {
  mvnet_rtos_owned_remove(m);
  m->owner = NULL;
  m->owner_id = NULL;
  m->count = 0;
  mvnet_rtos_obj_broadcast(&m->o);
}

osStatus_t osMutexRelease(osMutexId_t mutex_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  mvnet_rtos_mutex *m = mutex_id;
  if (m == NULL || mvnet_rtos_obj_lock(&m->o, MVNET_RTOS_MAGIC_MUTEX) != 0) {
    return osErrorParameter;
  }
  osStatus_t st = osOK;
  if (m->owner != mvnet_rtos_thread_token()) {
    st = osErrorResource;
  } else if (--m->count == 0U) {
    give_up(m);
  }
  mvnet_rtos_obj_unlock(&m->o);
  return st;
}

void mvnet_rtos_mutex_release_dead(mvnet_rtos_mutex *m, const void *token) {
  if (mvnet_rtos_obj_lock(&m->o, MVNET_RTOS_MAGIC_MUTEX) != 0) {
    return;
  }
  if (m->owner == token) {
    give_up(m);
  }
  mvnet_rtos_obj_unlock(&m->o);
}

uint32_t mvnet_rtos_mutex_free(void *mutex_id) {
  mvnet_rtos_mutex *m = mutex_id;
  if (m == NULL || mvnet_rtos_obj_lock(&m->o, MVNET_RTOS_MAGIC_MUTEX) != 0) {
    return 0U;
  }
  uint32_t free_now = m->owner == NULL ? 1U : 0U;
  mvnet_rtos_obj_unlock(&m->o);
  return free_now;
}

osThreadId_t osMutexGetOwner(osMutexId_t mutex_id) {
  mvnet_rtos_mutex *m = mutex_id;
  if (MVNET_RTOS_IN_ISR() || m == NULL || mvnet_rtos_obj_lock(&m->o, MVNET_RTOS_MAGIC_MUTEX) != 0) {
    return NULL;
  }
  osThreadId_t id = m->owner_id;
  mvnet_rtos_obj_unlock(&m->o);
  return id;
}

osStatus_t osMutexDelete(osMutexId_t mutex_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  mvnet_rtos_mutex *m = mutex_id;
  if (m == NULL || mvnet_rtos_obj_lock(&m->o, MVNET_RTOS_MAGIC_MUTEX) != 0) {
    return osErrorParameter;
  }
  mvnet_rtos_owned_remove(m);
  mvnet_rtos_obj_delete(&m->o);
  free(m);
  return osOK;
}

/* ---- Semaphores ----------------------------------------------------------- */

typedef struct {
  mvnet_rtos_obj o;
  uint32_t max;
  uint32_t count; /* guarded by o.mu */
} rtos_semaphore;

static rtos_semaphore *sem_new(uint32_t max_count, uint32_t initial_count, const char *name);

osSemaphoreId_t osSemaphoreNew(uint32_t max_count, uint32_t initial_count, const osSemaphoreAttr_t *attr) {
  if (MVNET_RTOS_IN_ISR()) {
    return NULL;
  }
  return sem_new(max_count, initial_count, attr != NULL ? attr->name : NULL);
}

void *mvnet_rtos_sem_new(uint32_t max_count, uint32_t initial_count) {
  return sem_new(max_count, initial_count, NULL);
}

static rtos_semaphore *sem_new(uint32_t max_count, uint32_t initial_count, const char *name) {
  if (max_count == 0U || initial_count > max_count) {
    return NULL;
  }
  rtos_semaphore *s = calloc(1, sizeof *s);
  if (s == NULL) {
    return NULL;
  }
  char *copy = mvnet_rtos_strdup(name);
  if (name != NULL && copy == NULL) {
    free(s);
    return NULL;
  }
  s->max = max_count;
  s->count = initial_count;
  mvnet_rtos_obj_init(&s->o, MVNET_RTOS_MAGIC_SEM, copy);
  return s;
}

const char *osSemaphoreGetName(osSemaphoreId_t semaphore_id) {
  rtos_semaphore *s = semaphore_id;
  return s != NULL ? mvnet_rtos_obj_name(&s->o, MVNET_RTOS_MAGIC_SEM) : NULL;
}

osStatus_t osSemaphoreAcquire(osSemaphoreId_t semaphore_id, uint32_t timeout) {
  if (MVNET_RTOS_IN_ISR() && timeout != 0U) {
    return osErrorParameter;
  }
  return mvnet_rtos_sem_acquire(semaphore_id, timeout);
}

osStatus_t mvnet_rtos_sem_acquire(void *semaphore_id, uint32_t timeout) {
  rtos_semaphore *s = semaphore_id;
  if (s == NULL || mvnet_rtos_obj_lock(&s->o, MVNET_RTOS_MAGIC_SEM) != 0) {
    return osErrorParameter;
  }
  if (s->count == 0U && timeout != 0U) {
    struct timespec deadline;
    if (timeout != osWaitForever) {
      mvnet_rtos_deadline_in(&deadline, timeout);
    }
    mvnet_rtos_waiter w = {0};
    mvnet_rtos_waiter_add(&s->o, &w);
    while (s->count == 0U && !s->o.deleted) {
      if (mvnet_rtos_obj_wait(&s->o, &w, timeout != osWaitForever ? &deadline : NULL) == ETIMEDOUT) {
        break;
      }
    }
    mvnet_rtos_waiter_remove(&s->o, &w);
    if (s->o.deleted) {
      mvnet_rtos_obj_unlock(&s->o);
      return osErrorResource;
    }
  }
  osStatus_t st = osOK;
  if (s->count > 0U) {
    s->count--;
  } else {
    st = timeout == 0U ? osErrorResource : osErrorTimeout;
  }
  mvnet_rtos_obj_unlock(&s->o);
  return st;
}

osStatus_t osSemaphoreRelease(osSemaphoreId_t semaphore_id) {
  return mvnet_rtos_sem_release(semaphore_id, NULL);
}

osStatus_t mvnet_rtos_sem_release(void *semaphore_id, int *woke) {
  rtos_semaphore *s = semaphore_id;
  if (s == NULL || mvnet_rtos_obj_lock(&s->o, MVNET_RTOS_MAGIC_SEM) != 0) {
    return osErrorParameter;
  }
  osStatus_t st = osOK;
  if (s->count >= s->max) {
    st = osErrorResource;
  } else {
    s->count++;
    if (woke != NULL && s->o.head != NULL) {
      *woke = 1;
    }
    mvnet_rtos_obj_broadcast(&s->o);
  }
  mvnet_rtos_obj_unlock(&s->o);
  return st;
}

uint32_t osSemaphoreGetCount(osSemaphoreId_t semaphore_id) {
  rtos_semaphore *s = semaphore_id;
  if (s == NULL || mvnet_rtos_obj_lock(&s->o, MVNET_RTOS_MAGIC_SEM) != 0) {
    return 0U;
  }
  uint32_t n = s->count;
  mvnet_rtos_obj_unlock(&s->o);
  return n;
}

osStatus_t osSemaphoreDelete(osSemaphoreId_t semaphore_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  rtos_semaphore *s = semaphore_id;
  if (s == NULL || mvnet_rtos_obj_lock(&s->o, MVNET_RTOS_MAGIC_SEM) != 0) {
    return osErrorParameter;
  }
  mvnet_rtos_obj_delete(&s->o);
  free(s);
  return osOK;
}
