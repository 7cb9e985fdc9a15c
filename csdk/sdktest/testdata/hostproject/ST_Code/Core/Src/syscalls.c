/* newlib retarget / ST wrapper: the board build only. */
#error "mvnet build must leave ST_Code/Core/Src/syscalls.c out of the host build"
