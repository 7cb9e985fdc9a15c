//go:build ignore

/*
 * hal_symbols.c — finding the application's copy of the HAL's data objects.
 *
 * Applications use GPIOA, USART2, SystemCoreClock… as the addresses of
 * objects defined here. Linked statically there is one copy. In a shared
 * library built with -Bsymbolic (Go's -buildmode=c-shared links that way) an
 * executable that names such an object gets a copy of its own, and the
 * library's own references keep pointing at the original. Looking the name up
 * from the main program's handle finds the copy the executable uses (or the
 * library's, when the executable has none); without a dynamic symbol table
 * (a static link) the lookup fails and our own definition is the only one.
 *
 * Application hooks (HAL_MspInit, HAL_UART_MspInit, the EXTI callbacks) have
 * the same problem in reverse and are solved differently: the HAL declares
 * them as weak undefined references and calls them only when they resolve.
 *
 * (The //go:build line keeps the Go tool from treating this C file as part of
 * the Go package in this directory; C compilers see a comment.)
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <stddef.h>

#include "hal_internal.h"

void *mvnet_hal_canonical(const char *name, void *own) {
  void *main_program = dlopen(NULL, RTLD_LAZY);
  if (main_program == NULL) {
    return own;
  }
  void *p = dlsym(main_program, name);
  dlclose(main_program); /* the main program itself stays loaded */
  return p != NULL ? p : own;
}

void *mvnet_hal_canonical_fn(const char *name) {
  void *main_program = dlopen(NULL, RTLD_LAZY);
  if (main_program == NULL) {
    return NULL;
  }
  void *p = dlsym(main_program, name);
  dlclose(main_program);
  return p;
}
