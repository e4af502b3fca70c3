/*
 * units.h — sizes as people read them, for every layer that words a
 * figure (the analyses' advice, the commands' tables).
 */
#ifndef HEAPSNAP_BASE_UNITS_H
#define HEAPSNAP_BASE_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "1.5 GiB", "12.0 KiB", "512 B" into buf; returns buf. */
char *units_bytes(char *buf, size_t n, uint64_t bytes);

#endif
