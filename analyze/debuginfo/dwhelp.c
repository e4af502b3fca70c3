/*
 * dwhelp.c — the libdwarf wrappers every DWARF reader in heapsnap shares
 * (see dwhelp.h for the contract: errors and absences read as "absent").
 */
#include "debuginfo/dwhelp.h"

#include <string.h>

void dwh_drop(Dwarf_Debug dbg, Dwarf_Error *err)
{
    if (*err) {
        dwarf_dealloc_error(dbg, *err);
        *err = NULL;
    }
}

void dwh_cu_rewind(Dwarf_Debug dbg)
{
    for (unsigned k = 0; k < (1u << 24); k++) {
        Dwarf_Unsigned hlen, abbrev, next, toff;
        Dwarf_Half ver, asz, osz, xsz, htype;
        Dwarf_Sig8 sig;
        Dwarf_Error e = NULL;
        if (dwarf_next_cu_header_d(dbg, 1, &hlen, &ver, &abbrev, &asz, &osz, &xsz, &sig, &toff, &next, &htype,
                                   &e) != DW_DLV_OK) {
            dwh_drop(dbg, &e);
            return;
        }
    }
}

Dwarf_Die dwh_die_at(Dwarf_Debug dbg, Dwarf_Off off)
{
    Dwarf_Die die = NULL;
    Dwarf_Error err = NULL;
    if (dwarf_offdie_b(dbg, off, 1, &die, &err) != DW_DLV_OK) {
        dwh_drop(dbg, &err);
        return NULL;
    }
    return die;
}

Dwarf_Die dwh_first_child(Dwarf_Debug dbg, Dwarf_Die parent)
{
    Dwarf_Die c = NULL;
    Dwarf_Error err = NULL;
    int r = dwarf_child(parent, &c, &err);
    dwh_drop(dbg, &err);
    return r == DW_DLV_OK ? c : NULL;
}

Dwarf_Die dwh_next_sibling(Dwarf_Debug dbg, Dwarf_Die c)
{
    Dwarf_Die next = NULL;
    Dwarf_Error err = NULL;
    int r = dwarf_siblingof_b(dbg, c, 1, &next, &err);
    dwh_drop(dbg, &err);
    dwarf_dealloc_die(c);
    return r == DW_DLV_OK ? next : NULL;
}

int dwh_tag(Dwarf_Debug dbg, Dwarf_Die die)
{
    Dwarf_Half tag = 0;
    Dwarf_Error err = NULL;
    if (dwarf_tag(die, &tag, &err) != DW_DLV_OK) {
        dwh_drop(dbg, &err);
        return -1;
    }
    return tag;
}

const char *dwh_name(Dwarf_Debug dbg, Dwarf_Die die)
{
    char *name = NULL;
    Dwarf_Error err = NULL;
    int r = dwarf_diename(die, &name, &err);
    if (r == DW_DLV_ERROR)
        dwh_drop(dbg, &err);
    return r == DW_DLV_OK ? name : NULL; /* points into .debug_str: never freed */
}

Dwarf_Off dwh_offset(Dwarf_Debug dbg, Dwarf_Die die)
{
    Dwarf_Off off = 0;
    Dwarf_Error err = NULL;
    if (dwarf_dieoffset(die, &off, &err) != DW_DLV_OK)
        dwh_drop(dbg, &err);
    return off;
}

Dwarf_Attribute dwh_attr(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at)
{
    Dwarf_Attribute a = NULL;
    Dwarf_Error err = NULL;
    int r = dwarf_attr(die, at, &a, &err);
    if (r == DW_DLV_ERROR)
        dwh_drop(dbg, &err);
    return r == DW_DLV_OK ? a : NULL;
}

int dwh_has(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at)
{
    Dwarf_Bool b = 0;
    Dwarf_Error err = NULL;
    if (dwarf_hasattr(die, at, &b, &err) != DW_DLV_OK) {
        dwh_drop(dbg, &err);
        return 0;
    }
    return b != 0;
}

/* A constant attribute as a signed value; DW_FORM_sdata and implicit_const
 * are signed, the fixed-size data forms and udata unsigned (as GCC emits
 * them).  0 or -1. */
int dwh_sdata(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, int64_t *out)
{
    Dwarf_Attribute a = dwh_attr(dbg, die, at);
    if (!a)
        return -1;
    Dwarf_Error err = NULL;
    Dwarf_Half form = 0;
    int r = dwarf_whatform(a, &form, &err);
    if (r == DW_DLV_OK && (form == DW_FORM_sdata || form == DW_FORM_implicit_const)) {
        Dwarf_Signed v;
        r = dwarf_formsdata(a, &v, &err);
        *out = v;
    } else if (r == DW_DLV_OK) {
        Dwarf_Unsigned v;
        r = dwarf_formudata(a, &v, &err);
        *out = (int64_t)v;
    }
    dwh_drop(dbg, &err);
    dwarf_dealloc_attribute(a);
    return r == DW_DLV_OK ? 0 : -1;
}

int dwh_udata(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, uint64_t *out)
{
    int64_t v;
    if (dwh_sdata(dbg, die, at, &v) < 0 || v < 0)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int dwh_ref(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, Dwarf_Off *out)
{
    Dwarf_Attribute a = dwh_attr(dbg, die, at);
    if (!a)
        return -1;
    Dwarf_Error err = NULL;
    int r = dwarf_global_formref(a, out, &err);
    dwh_drop(dbg, &err);
    dwarf_dealloc_attribute(a);
    return r == DW_DLV_OK ? 0 : -1;
}

/* An attribute holding a DWARF expression (exprloc, or a block in DWARF 2/3):
 * copied into buf (up to cap bytes); its length, or -1. */
long dwh_expr(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, uint8_t *buf, size_t cap)
{
    Dwarf_Attribute a = dwh_attr(dbg, die, at);
    if (!a)
        return -1;
    Dwarf_Error err = NULL;
    Dwarf_Half form = 0;
    long len = -1;
    if (dwarf_whatform(a, &form, &err) == DW_DLV_OK) {
        if (form == DW_FORM_exprloc) {
            Dwarf_Unsigned n;
            Dwarf_Ptr p;
            if (dwarf_formexprloc(a, &n, &p, &err) == DW_DLV_OK && n <= cap) {
                memcpy(buf, p, n);
                len = (long)n;
            }
        } else if (form == DW_FORM_block1 || form == DW_FORM_block2 || form == DW_FORM_block4 ||
                   form == DW_FORM_block) {
            Dwarf_Block *b = NULL;
            if (dwarf_formblock(a, &b, &err) == DW_DLV_OK) {
                if (b->bl_len <= cap) {
                    memcpy(buf, b->bl_data, b->bl_len);
                    len = (long)b->bl_len;
                }
                dwarf_dealloc(dbg, b, DW_DLA_BLOCK);
            }
        }
    }
    dwh_drop(dbg, &err);
    dwarf_dealloc_attribute(a);
    return len;
}

int dwh_uleb(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; *pos < len && shift < 64; shift += 7) {
        uint8_t b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* ------------------------------------------------------------ indexing */

/* The name a DIE goes by: its own, or its declaration's (DW_AT_specification). */

int dwh_sleb(const uint8_t *p, size_t len, size_t *pos, int64_t *out)
{
    uint64_t v = 0;
    for (unsigned sh = 0; *pos < len && sh < 64; sh += 7) {
        uint8_t b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80)) {
            if (sh + 7 < 64 && (b & 0x40))
                v |= ~0ull << (sh + 7);
            *out = (int64_t)v;
            return 0;
        }
    }
    return -1;
}
