/*
 * dwhelp.h — small, safe wrappers over libdwarf (the 20210528 API) that every
 * reader of DWARF in heapsnap shares: debuginfo/dwarf.c (layouts, variables,
 * constants) and types/dwtypes.c (the type tables, stack locals).
 *
 * Each one answers a plain value and never leaks a Dwarf_Error: an error, a
 * missing attribute or an unexpected form all read as "absent" (NULL, -1),
 * because debug files are input we do not trust and a damaged DIE must cost
 * us only what it describes.
 */
#ifndef HEAPSNAP_DEBUGINFO_DWHELP_H
#define HEAPSNAP_DEBUGINFO_DWHELP_H

#include <dwarf.h>
#include <libdwarf.h>
#include <stddef.h>
#include <stdint.h>

/* Free *err if set, and clear it. */
void dwh_drop(Dwarf_Debug dbg, Dwarf_Error *err);

/* Run dbg's unit cursor to its end, so that the next
 * dwarf_next_cu_header_d gives the first unit (a shared handle:
 * dbg_module_dwarf).  Bounded: a file has fewer than 2^24 units. */
void dwh_cu_rewind(Dwarf_Debug dbg);

/* The DIE at a .debug_info offset, or NULL. */
Dwarf_Die dwh_die_at(Dwarf_Debug dbg, Dwarf_Off off);

/*
 * Walking a DIE's children holds one child at a time:
 *   for (c = dwh_first_child(dbg, parent); c && ...; c = dwh_next_sibling(dbg, c))
 * dwh_next_sibling frees the child it is given; a loop that stops early frees
 * the child it stopped on (dwarf_dealloc_die).  Both give NULL at the end and
 * on an error.
 */
Dwarf_Die dwh_first_child(Dwarf_Debug dbg, Dwarf_Die parent);
Dwarf_Die dwh_next_sibling(Dwarf_Debug dbg, Dwarf_Die c);

int dwh_tag(Dwarf_Debug dbg, Dwarf_Die die);                 /* DW_TAG_*, or -1 */
const char *dwh_name(Dwarf_Debug dbg, Dwarf_Die die);        /* into .debug_str: never freed; or NULL */
Dwarf_Off dwh_offset(Dwarf_Debug dbg, Dwarf_Die die);        /* 0 on error */
int dwh_has(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at);  /* 1 if present */
/* Attribute 'at' (free with dwarf_dealloc_attribute), or NULL. */
Dwarf_Attribute dwh_attr(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at);

/* A constant attribute as a signed value: DW_FORM_sdata and implicit_const
 * are signed, the fixed-size data forms and udata unsigned (as GCC emits
 * them).  0 or -1. */
int dwh_sdata(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, int64_t *out);
/* The same, refusing negative values.  0 or -1. */
int dwh_udata(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, uint64_t *out);
/* A reference attribute as a global .debug_info offset.  0 or -1. */
int dwh_ref(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, Dwarf_Off *out);
/* An attribute holding a DWARF expression (exprloc, or a block in DWARF 2/3)
 * copied into buf (up to cap bytes): its length, or -1. */
long dwh_expr(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, uint8_t *buf, size_t cap);

/* LEB128 numbers in p[*pos..len), advancing *pos.  0 or -1 (cut short). */
int dwh_uleb(const uint8_t *p, size_t len, size_t *pos, uint64_t *out);
int dwh_sleb(const uint8_t *p, size_t len, size_t *pos, int64_t *out);

#endif
