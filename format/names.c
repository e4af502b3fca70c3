/*
 * names.c — display names of section types, page states and capture modes, as printed by
 * heapsnap info/verify and used in every error message of the reader.
 */
#include "hsnap.h"

const char *hs_section_name(uint32_t type)
{
    switch (type) {
    case HS_SEC_PROCESS: return "process";
    case HS_SEC_MAPPINGS: return "mappings";
    case HS_SEC_MODULES: return "modules";
    case HS_SEC_THREADS: return "threads";
    case HS_SEC_MEMORY: return "memory";
    case HS_SEC_STATS: return "stats";
    case HS_SEC_INDEX: return "index";
    case HS_SEC_FILE: return "file";
    }
    return "unknown";
}

const char *hs_page_state_name(unsigned state)
{
    switch (state) {
    case HS_PAGE_DATA: return "data";
    case HS_PAGE_ZERO: return "zero";
    case HS_PAGE_ABSENT: return "absent";
    case HS_PAGE_SWAPPED: return "swapped";
    case HS_PAGE_UNREADABLE: return "unreadable";
    }
    return "invalid";
}

const char *hs_mode_name(uint32_t mode)
{
    switch (mode) {
    case HS_MODE_BUFFERED: return "buffered";
    case HS_MODE_STREAMED: return "streamed";
    case HS_MODE_COW: return "cow";
    case HS_MODE_STOP_LZ4: return "stop-lz4";
    }
    return "unknown";
}
