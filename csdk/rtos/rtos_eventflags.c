//go:build ignore

/*
 * rtos_eventflags.c — CMSIS-RTOS2 event flags.
 *
 * 31 usable bits (the top bit marks errors). osEventFlagsSet hands the bits
 * to waiting threads in arrival order and consumes them for each satisfied
 * waiter (unless it waits with osFlagsNoClear), as RTX does, so two waiters
 * for the same bit cannot both take it.
 *
 * FreeRTOS's event groups (event_groups.h) are the same objects with
 * FreeRTOS's rules: a set releases every waiter it satisfies and clears the
 * bits they asked to clear only after that (MVNET_RTOS_WAIT_GROUP waiters).
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>

#include "rtos_internal.h"

typedef struct {
  mvnet_rtos_obj o;
  uint32_t flags; /* guarded by o.mu */
} rtos_event_flags;

static rtos_event_flags *flags_new(const char *name);

osEventFlagsId_t osEventFlagsNew(const osEventFlagsAttr_t *attr) {
  if (MVNET_RTOS_IN_ISR()) {
    return NULL;
  }
  return flags_new(attr != NULL ? attr->name : NULL);
}

void *mvnet_rtos_group_new(void) {
  return flags_new(NULL);
}

static rtos_event_flags *flags_new(const char *name) {
  rtos_event_flags *ef = calloc(1, sizeof *ef);
  if (ef == NULL) {
    return NULL;
  }
  char *copy = mvnet_rtos_strdup(name);
  if (name != NULL && copy == NULL) {
    free(ef);
    return NULL;
  }
  mvnet_rtos_obj_init(&ef->o, MVNET_RTOS_MAGIC_EVENT, copy);
  return ef;
}

const char *osEventFlagsGetName(osEventFlagsId_t ef_id) {
  rtos_event_flags *ef = ef_id;
  return ef != NULL ? mvnet_rtos_obj_name(&ef->o, MVNET_RTOS_MAGIC_EVENT) : NULL;
}

static rtos_event_flags *lock(osEventFlagsId_t ef_id) {
  rtos_event_flags *ef = ef_id;
  if (ef == NULL || mvnet_rtos_obj_lock(&ef->o, MVNET_RTOS_MAGIC_EVENT) != 0) {
    return NULL;
  }
  return ef;
}

uint32_t osEventFlagsSet(osEventFlagsId_t ef_id, uint32_t flags) {
  if ((flags & osFlagsError) != 0U) {
    return osFlagsErrorParameter;
  }
  rtos_event_flags *ef = lock(ef_id);
  if (ef == NULL) {
    return osFlagsErrorParameter;
  }
  uint32_t now = mvnet_rtos_flags_set(&ef->o, &ef->flags, flags);
  mvnet_rtos_obj_unlock(&ef->o);
  return now;
}

uint32_t osEventFlagsClear(osEventFlagsId_t ef_id, uint32_t flags) {
  if ((flags & osFlagsError) != 0U) {
    return osFlagsErrorParameter;
  }
  rtos_event_flags *ef = lock(ef_id);
  if (ef == NULL) {
    return osFlagsErrorParameter;
  }
  uint32_t before = ef->flags;
  ef->flags &= ~flags;
  mvnet_rtos_obj_unlock(&ef->o);
  return before;
}

uint32_t osEventFlagsGet(osEventFlagsId_t ef_id) {
  rtos_event_flags *ef = lock(ef_id);
  if (ef == NULL) {
    return 0U;
  }
  uint32_t v = ef->flags;
  mvnet_rtos_obj_unlock(&ef->o);
  return v;
}

uint32_t osEventFlagsWait(osEventFlagsId_t ef_id, uint32_t flags, uint32_t options, uint32_t timeout) {
  if (MVNET_RTOS_IN_ISR() && timeout != 0U) {
    return osFlagsErrorParameter;
  }
  /* Waiting for no bit could never end (or always would): refuse it. */
  if (flags == 0U || (flags & osFlagsError) != 0U) {
    return osFlagsErrorParameter;
  }
  rtos_event_flags *ef = lock(ef_id);
  if (ef == NULL) {
    return osFlagsErrorParameter;
  }
  uint32_t r = mvnet_rtos_flags_wait(&ef->o, &ef->flags, flags, options, timeout);
  mvnet_rtos_obj_unlock(&ef->o);
  return r;
}

osStatus_t osEventFlagsDelete(osEventFlagsId_t ef_id) {
  if (MVNET_RTOS_IN_ISR()) {
    return osErrorISR;
  }
  rtos_event_flags *ef = lock(ef_id);
  if (ef == NULL) {
    return osErrorParameter;
  }
  mvnet_rtos_obj_delete(&ef->o);
  free(ef);
  return osOK;
}

/* ---- FreeRTOS event groups ------------------------------------------------- */

uint32_t mvnet_rtos_group_set(void *g, uint32_t bits, int *woke, int *ok) {
  rtos_event_flags *ef = lock(g);
  if (ef == NULL) {
    if (ok != NULL) {
      *ok = 0;
    }
    return 0U;
  }
  if (woke != NULL && mvnet_rtos_obj_has_waiters(&ef->o)) {
    *woke = 1;
  }
  uint32_t now = mvnet_rtos_flags_set(&ef->o, &ef->flags, bits & ~osFlagsError);
  mvnet_rtos_obj_unlock(&ef->o);
  return now;
}

uint32_t mvnet_rtos_group_wait(void *g, uint32_t set, uint32_t bits, int clear, int all, uint32_t timeout, int *ok) {
  rtos_event_flags *ef = lock(g);
  if (ef == NULL || bits == 0U) {
    if (ef != NULL) {
      mvnet_rtos_obj_unlock(&ef->o);
    }
    if (ok != NULL) {
      *ok = 0;
    }
    return 0U;
  }
  bits &= ~osFlagsError;
  uint32_t options = MVNET_RTOS_WAIT_GROUP | (all ? osFlagsWaitAll : osFlagsWaitAny) | (clear ? 0U : osFlagsNoClear);
  uint32_t r;
  if (set != 0U) {
    /* xEventGroupSync: this task's bits count towards its own condition even
     * if the set released others who cleared them. */
    uint32_t before = ef->flags;
    mvnet_rtos_flags_set(&ef->o, &ef->flags, set & ~osFlagsError);
    if (((before | set) & bits) == bits) {
      ef->flags &= ~bits;
      mvnet_rtos_obj_unlock(&ef->o);
      return before | set;
    }
  }
  r = mvnet_rtos_flags_wait(&ef->o, &ef->flags, bits, options, timeout);
  if ((r & osFlagsError) != 0U) {
    /* Timed out (or the group went away): FreeRTOS returns the bits now. */
    r = ef->o.deleted ? 0U : ef->flags;
  }
  mvnet_rtos_obj_unlock(&ef->o);
  return r;
}
