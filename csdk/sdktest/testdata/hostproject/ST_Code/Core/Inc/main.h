#ifndef MAIN_H
#define MAIN_H
/* Relies on newlib's <stdio.h> declaring uint8_t and friends. */
#include <stdio.h>

extern volatile uint8_t msp_ran;
int fetch(const char *url);

#endif
