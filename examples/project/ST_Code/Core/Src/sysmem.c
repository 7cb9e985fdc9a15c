/* newlib's heap for the board: _sbrk grows from the end of .bss (the
 * linker script's _end) up to the stack's reserve. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

extern uint8_t _end;
extern uint8_t _estack;
extern uint32_t _Min_Stack_Size;

static uint8_t *heap_end;

void *_sbrk(ptrdiff_t incr) {
    const uint8_t *limit = &_estack - (uint32_t)&_Min_Stack_Size;
    if (heap_end == NULL) {
        heap_end = &_end;
    }
    if (heap_end + incr > limit) {
        errno = ENOMEM;
        return (void *)-1;
    }
    uint8_t *prev = heap_end;
    heap_end += incr;
    return prev;
}
