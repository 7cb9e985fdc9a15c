/*
 * mvnet_newlib_compat.h: what the arm-none-eabi toolchain's headers give a
 * Microvisor application without its asking, forced into every host
 * compilation (-include) by mvnet's CMake integration (csdk/cmake), the
 * CMake package (mvnet::mvnet) and pkg-config (mvnet.pc).
 *
 * - newlib's <stdio.h> (and <stdlib.h>, <string.h> …) include <sys/types.h>,
 *   which includes <sys/_stdint.h>: uint8_t, int32_t, uintptr_t … are
 *   declared after <stdio.h> alone, and project headers rely on it. glibc's
 *   <stdio.h> declares none of them.
 * - assert: sample projects call it without including <assert.h>, and the
 *   device build accepts it (the declaration reaches them indirectly through
 *   the toolchain's and SDK's headers); on the host nothing else would
 *   declare it. NDEBUG on the command line still turns it off.
 *
 * Nothing else: no Microvisor or HAL declarations (those come from the
 * headers the application includes).
 */
#ifndef MVNET_NEWLIB_COMPAT_H
#define MVNET_NEWLIB_COMPAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <assert.h>

#endif /* MVNET_NEWLIB_COMPAT_H */
