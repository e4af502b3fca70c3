/*
 * decode.h — values in captured memory, read through their types: printed
 * the way gdb's `print` prints them (for `heapsnap show`), and picked out
 * by field path (for `show --json` and the SQL function field()).
 *
 * Memory and names come through a small interface so that this file needs
 * neither the snapshot nor the database: show.c and fn_field.c read bytes
 * with the SQL function mem() and name pointers from the objects and
 * symbols tables.
 */
#ifndef HEAPSNAP_TYPES_DECODE_H
#define HEAPSNAP_TYPES_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "types/types.h"

/* A growable string. */
struct tybuf {
    char *s;
    size_t n, cap;
    int oom;
};
void tybuf_add(struct tybuf *b, const char *s, size_t n);
void tybuf_printf(struct tybuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tybuf_free(struct tybuf *b);

struct ty_env {
    /* Copy len bytes at addr; 0, or -1 if not captured. */
    int (*read)(void *u, uint64_t addr, void *buf, size_t len);
    /* What a pointer value points at, for " <...>" after it: a symbol as
     * gdb writes it ("g_table", "g_items+8") into sym, and/or a heap object
     * ("obj 12: struct session") into obj; either left "" if none. */
    void (*name)(void *u, uint64_t ptr, char *sym, size_t symlen, char *obj, size_t objlen);
    void *u;
    /* Go: the type id of the type an interface value's type word (a
     * runtime type descriptor, or an itab) names; 0 if unknown.  When the
     * DWARF has no *T but a T, the id of T with *ptr_to set.  May be NULL
     * (interfaces then print their words). */
    uint32_t (*go_type)(void *u, uint64_t word, int *ptr_to);
};

/*
 * Format the value of `type` whose bytes are bytes[0..len) (the value lives
 * at addr in the target) into b, as gdb prints it with its default settings
 * (print elements 200, repeats 10, print symbol on), e.g.
 *   {id = 7, user = "alice", '\000' <repeats 10 times>, pos = {x = 1, y = 2}, next = 0x0}
 * Pointers get " <sym>" as gdb gives them and, when they point into a heap
 * object, " <obj N: TYPE>" (which gdb does not print: compare modulo that).
 * Bytes beyond len print as <unavailable>.
 */
void ty_format(const struct tytab *t, uint32_t type, const uint8_t *bytes, size_t len,
               uint64_t addr, const struct ty_env *env, struct tybuf *b);

/* gofmt.c: the value printed as Go's fmt prints it with %#v (Go types:
 * ty_is_go): main.T{A:1, S:"x", P:(*main.T)(nil), B:[]uint8{0x1}}. */
void ty_format_go(const struct tytab *t, uint32_t type, const uint8_t *bytes, size_t len,
                  const struct ty_env *env, struct tybuf *b);
/* A Go map's group (Swiss maps, Go 1.24+: {ctrl uint64, slots [8]{key,
 * elem}}) or bucket (Go 1.19: {tophash [8]uint8, keys [8]K, elems or
 * values [8]V, overflow *bucket}) whose bytes are b[0..n): its 8 slots,
 * each with the offsets of its key and value and whether a control byte
 * (top bit clear) or a tophash (minTopHash = 5 or more) marks it full.
 * 8, or 0 if the type is neither. */
struct ty_go_slots {
    uint32_t key_type, value_type;
    uint64_t key_off[8], value_off[8];
    int full[8];
    int64_t overflow_off;      /* a bucket's overflow pointer; -1 in a group */
};
int ty_go_group(const struct tytab *t, uint32_t type, const uint8_t *b, size_t n, struct ty_go_slots *s);

/* 1 if type (or what its typedefs name) came from Go's DWARF (TYF_GO). */
int ty_is_go(const struct tytab *t, uint32_t type);
/* A Go string or slice header: 's' or 'l' with its data address, len and
 * cap (a string's cap is its len); 0 if type is neither. */
int ty_go_extent(const struct tytab *t, uint32_t type, const uint8_t *bytes, size_t len, uint64_t *addr,
                 uint64_t *n, uint64_t *cap);

/* The same for a bit-field (bit_size 0: a plain value). */
void ty_format_bits(const struct tytab *t, uint32_t type, unsigned bit_size, unsigned bit_offset,
                    const uint8_t *bytes, size_t len, uint64_t addr, const struct ty_env *env,
                    struct tybuf *b);

/*
 * The field of `type` (times count, for an array of them) holding byte
 * `offset`, as a path: "next", "items[2].qty", "[3].name" — the innermost
 * named member; "" if the offset is in no member (padding, past the end).
 */
void ty_field_at(const struct tytab *t, uint32_t type, uint64_t count, uint64_t offset,
                 struct tybuf *b);

/*
 * Resolve a field path ("pos.x", "path[1].y", "scores[2]", "" for the whole)
 * from `type`: the byte offset and the field's type, bit-field position in
 * *bit_size / *bit_offset (0 if not one).  0, or -1 if the path names
 * nothing (err says why).
 */
int ty_path(const struct tytab *t, uint32_t type, const char *path, uint64_t *offset,
            uint32_t *ftype, unsigned *bit_size, unsigned *bit_offset, char *err, size_t errlen);

/* A scalar's value: integers (with sign), enums, bools and chars as *i,
 * floating point as *d.  Returns 'i' (integer), 'u' (unsigned integer),
 * 'd' (double), or 0 if the type is not a scalar or the bytes are short. */
int ty_scalar(const struct tytab *t, uint32_t type, const uint8_t *bytes, size_t len,
              unsigned bit_size, unsigned bit_offset, int64_t *i, double *d);

#endif
