/* Compiles on the host only with mvnet_newlib_compat.h forced in (mvnet.pc,
 * the CMake package, mvnet build): uint8_t after <stdio.h> alone, assert
 * without <assert.h>. Prints "low=0x34" and exits 0. */
#include "newlib_compat.h"

int main(void) {
    uint8_t b = low_byte(0x1234u);
    assert(b == 0x34);
    printf("low=0x%02x\n", b);
    return 0;
}
