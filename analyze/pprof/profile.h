/*
 * profile.h — writing pprof profiles (profile.proto, gzipped), the format
 * `go tool pprof`, its flame graphs and every pprof-speaking tool read.
 *
 *   proto.c     the few protobuf primitives profile.proto needs (varints,
 *               length-delimited strings and nested messages, packed
 *               repeated integers): written here, not taken from a
 *               protobuf library, because this is all of it
 *   profile.c   the profile builder: a string table, functions, locations,
 *               samples, one mapping; serialised and gzipped with zlib
 *
 * A caller adds sample types, then functions and locations (each location
 * one or more lines, innermost first, as pprof's inlined frames), then
 * samples (location ids leaf first, one value per sample type), and writes
 * the profile to a file descriptor.  Ids start at 1 (0 means "none" in
 * profile.proto).  Every call that allocates returns 0, or -1 when out of
 * memory; prof_write says so too.
 */
#ifndef HEAPSNAP_PPROF_PROFILE_H
#define HEAPSNAP_PPROF_PROFILE_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ proto.c */

struct pbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;                 /* set once an append failed; later appends do nothing */
};

void pb_free(struct pbuf *b);
void pb_varint(struct pbuf *b, uint64_t v);
/* field number f with wire type 0 (varint), omitted when v is 0 (proto3) */
void pb_uint(struct pbuf *b, unsigned f, uint64_t v);
void pb_int(struct pbuf *b, unsigned f, int64_t v);
/* wire type 2: bytes, a string, or an already encoded message */
void pb_bytes(struct pbuf *b, unsigned f, const void *p, size_t n);
void pb_message(struct pbuf *b, unsigned f, const struct pbuf *m);
/* packed repeated varints (wire type 2) */
void pb_packed(struct pbuf *b, unsigned f, const uint64_t *v, size_t n);

/* ------------------------------------------------------------ profile.c */

struct prof_line {
    uint64_t function;      /* a function id */
    int64_t line;           /* 0 if unknown */
};

struct prof;

struct prof *prof_new(void);
void prof_free(struct prof *p);

/* A string's index in the string table (0 is ""). */
int64_t prof_string(struct prof *p, const char *s);
/* Sample types in order ("inuse_objects", "count"); the first call's
 * order is the order of every sample's values. */
int prof_sample_type(struct prof *p, const char *type, const char *unit);
/* Which sample type pprof shows first ("inuse_space"). */
void prof_default_type(struct prof *p, const char *type);
void prof_period(struct prof *p, const char *type, const char *unit, int64_t period);
void prof_time(struct prof *p, int64_t time_nanos);
int prof_comment(struct prof *p, const char *text);
/* The executable (for the mapping pprof shows; its path and build id).
 * has_functions: every location has its function names already. */
int prof_mapping(struct prof *p, uint64_t start, uint64_t limit, const char *file, const char *build_id,
                 int has_lines);
/* A function: its id (the same name and file give the same id). */
uint64_t prof_function(struct prof *p, const char *name, const char *file, int64_t start_line);
/* A location with nlines lines (innermost first) at address (0 if none):
 * its id, or 0 when out of memory. */
uint64_t prof_location(struct prof *p, uint64_t address, const struct prof_line *lines, size_t nlines);
/* A sample: locs[0] is the leaf; values as many as sample types; an
 * optional numeric label (key NULL for none), as the runtime's "bytes". */
int prof_sample(struct prof *p, const uint64_t *locs, size_t nlocs, const int64_t *values, const char *label,
                int64_t label_value, const char *label_unit);

/* Serialise, gzip (the gzip header's comment names heapsnap, so that a
 * later run can tell a profile it wrote from any other file) and write to
 * fd.  0, or -1 with errno set. */
int prof_write(struct prof *p, int fd);

/* The gzip header comment prof_write writes. */
#define PROF_GZIP_COMMENT "heapsnap profile"
/* 1 if the first n bytes of a file are the start of a profile prof_write wrote. */
int prof_is_ours(const unsigned char *head, size_t n);

#endif
