/* newlib retarget / ST wrapper: the board build only. */
#error "mvnet build must leave ST_Code/CMSIS_RTOS_V2/cmsis_os2.c out of the host build"
