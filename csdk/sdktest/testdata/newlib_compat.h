/* A project header written against newlib: <stdio.h> alone declares
 * uint8_t and friends there. */
#include <stdio.h>

static inline uint8_t low_byte(uint32_t v) { return (uint8_t)(v & 0xffu); }
