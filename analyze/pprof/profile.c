/*
 * profile.c — building a pprof profile (profile.h) and writing it gzipped.
 *
 * Everything but the string table is encoded into the Profile message as
 * it is added: repeated fields of a protobuf message may come in any order,
 * so functions, locations and samples need no second copy.  The string
 * table (field 6) is appended at the end, in index order, as its entries
 * must be.  Field numbers are profile.proto's (github.com/google/pprof,
 * proto/profile.proto).
 */
#include "pprof/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/fdio.h"
#include "debuginfo/strmap.h"

/* Profile */
enum { P_SAMPLE_TYPE = 1, P_SAMPLE = 2, P_MAPPING = 3, P_LOCATION = 4, P_FUNCTION = 5, P_STRING_TABLE = 6,
       P_TIME_NANOS = 9, P_PERIOD_TYPE = 11, P_PERIOD = 12, P_COMMENT = 13, P_DEFAULT_SAMPLE_TYPE = 14 };

struct prof {
    struct pbuf msg;              /* the Profile message, less its string table */
    struct strmap strings;        /* string -> index */
    char **strv;                  /* index -> string */
    size_t nstr, capstr;
    struct strmap funcs;          /* "name\x01file" -> id */
    uint64_t nfuncs, nlocs;
    size_t ntypes;
    int oom;
};

struct prof *prof_new(void)
{
    struct prof *p = calloc(1, sizeof *p);
    if (p && prof_string(p, "") != 0) {
        prof_free(p);
        return NULL;
    }
    return p;
}

void prof_free(struct prof *p)
{
    if (!p)
        return;
    pb_free(&p->msg);
    strmap_free(&p->strings);
    strmap_free(&p->funcs);
    free(p->strv);
    free(p);
}

int64_t prof_string(struct prof *p, const char *s)
{
    uint64_t v;
    if (!s)
        s = "";
    if (strmap_get(&p->strings, s, &v) == 0)
        return (int64_t)v;
    if (p->nstr == p->capstr) {
        size_t cap = p->capstr ? 2 * p->capstr : 256;
        char **nv = realloc(p->strv, cap * sizeof *nv);
        if (!nv) {
            p->oom = 1;
            return 0;
        }
        p->strv = nv;
        p->capstr = cap;
    }
    if (strmap_add(&p->strings, s, p->nstr) != 1) {
        p->oom = 1;
        return 0;
    }
    p->strv[p->nstr] = (char *)strmap_key(&p->strings, s);
    return (int64_t)p->nstr++;
}

static void value_type(struct prof *p, unsigned field, const char *type, const char *unit)
{
    struct pbuf m = {0};
    pb_int(&m, 1, prof_string(p, type));
    pb_int(&m, 2, prof_string(p, unit));
    pb_message(&p->msg, field, &m);
    pb_free(&m);
}

int prof_sample_type(struct prof *p, const char *type, const char *unit)
{
    value_type(p, P_SAMPLE_TYPE, type, unit);
    p->ntypes++;
    return p->oom || p->msg.oom ? -1 : 0;
}

void prof_default_type(struct prof *p, const char *type)
{
    pb_int(&p->msg, P_DEFAULT_SAMPLE_TYPE, prof_string(p, type));
}

void prof_period(struct prof *p, const char *type, const char *unit, int64_t period)
{
    value_type(p, P_PERIOD_TYPE, type, unit);
    pb_int(&p->msg, P_PERIOD, period);
}

void prof_time(struct prof *p, int64_t time_nanos)
{
    pb_int(&p->msg, P_TIME_NANOS, time_nanos);
}

int prof_comment(struct prof *p, const char *text)
{
    /* comment is a repeated int64 (string indexes), written unpacked */
    int64_t s = prof_string(p, text);
    pb_varint(&p->msg, (uint64_t)P_COMMENT << 3);
    pb_varint(&p->msg, (uint64_t)s);
    return p->oom || p->msg.oom ? -1 : 0;
}

int prof_mapping(struct prof *p, uint64_t start, uint64_t limit, const char *file, const char *build_id,
                 int has_lines)
{
    struct pbuf m = {0};
    pb_uint(&m, 1, 1);
    pb_uint(&m, 2, start);
    pb_uint(&m, 3, limit);
    pb_int(&m, 5, prof_string(p, file));
    pb_int(&m, 6, prof_string(p, build_id));
    pb_uint(&m, 7, 1);            /* has_functions: names are in the profile */
    pb_uint(&m, 8, has_lines);    /* has_filenames */
    pb_uint(&m, 9, has_lines);    /* has_line_numbers */
    pb_uint(&m, 10, has_lines);   /* has_inline_frames */
    pb_message(&p->msg, P_MAPPING, &m);
    pb_free(&m);
    return p->oom || p->msg.oom ? -1 : 0;
}

uint64_t prof_function(struct prof *p, const char *name, const char *file, int64_t start_line)
{
    size_t ln = strlen(name), lf = file ? strlen(file) : 0;
    char *key = malloc(ln + lf + 2);
    uint64_t id;
    if (!key) {
        p->oom = 1;
        return 0;
    }
    memcpy(key, name, ln);
    key[ln] = 1;
    if (lf)
        memcpy(key + ln + 1, file, lf);
    key[ln + 1 + lf] = 0;
    if (strmap_get(&p->funcs, key, &id) == 0) {
        free(key);
        return id;
    }
    id = ++p->nfuncs;
    if (strmap_add(&p->funcs, key, id) != 1)
        p->oom = 1;
    free(key);
    struct pbuf m = {0};
    int64_t s = prof_string(p, name);
    pb_uint(&m, 1, id);
    pb_int(&m, 2, s);
    pb_int(&m, 3, s);
    pb_int(&m, 4, prof_string(p, file));
    pb_int(&m, 5, start_line);
    pb_message(&p->msg, P_FUNCTION, &m);
    pb_free(&m);
    return p->oom ? 0 : id;
}

uint64_t prof_location(struct prof *p, uint64_t address, const struct prof_line *lines, size_t nlines)
{
    struct pbuf m = {0}, l = {0};
    uint64_t id = ++p->nlocs;
    pb_uint(&m, 1, id);
    pb_uint(&m, 2, address ? 1 : 0); /* the mapping, when there is an address to place */
    pb_uint(&m, 3, address);
    for (size_t i = 0; i < nlines; i++) {
        l.len = 0;
        pb_uint(&l, 1, lines[i].function);
        pb_int(&l, 2, lines[i].line);
        pb_message(&m, 4, &l);
    }
    pb_message(&p->msg, P_LOCATION, &m);
    pb_free(&l);
    pb_free(&m);
    return p->oom || p->msg.oom ? 0 : id;
}

int prof_sample(struct prof *p, const uint64_t *locs, size_t nlocs, const int64_t *values, const char *label,
                int64_t label_value, const char *label_unit)
{
    struct pbuf m = {0};
    uint64_t *v = malloc((p->ntypes ? p->ntypes : 1) * sizeof *v);
    if (!v) {
        p->oom = 1;
        return -1;
    }
    for (size_t i = 0; i < p->ntypes; i++)
        v[i] = (uint64_t)values[i];
    pb_packed(&m, 1, locs, nlocs);
    /* values are packed too, but a sample whose values are all 0 must
     * still say so: pb_packed writes the zeros */
    pb_packed(&m, 2, v, p->ntypes);
    free(v);
    if (label) {
        struct pbuf l = {0};
        pb_int(&l, 1, prof_string(p, label));
        pb_int(&l, 3, label_value);
        pb_int(&l, 4, prof_string(p, label_unit));
        pb_message(&m, 3, &l);
        pb_free(&l);
    }
    pb_message(&p->msg, P_SAMPLE, &m);
    pb_free(&m);
    return p->oom || p->msg.oom ? -1 : 0;
}

int prof_write(struct prof *p, int fd)
{
    for (size_t i = 0; i < p->nstr; i++)
        pb_bytes(&p->msg, P_STRING_TABLE, p->strv[i], strlen(p->strv[i]));
    if (p->oom || p->msg.oom) {
        errno = ENOMEM;
        return -1;
    }
    z_stream z = {0};
    /* 15 + 16: a gzip wrapper, as pprof expects of a .pb.gz */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        errno = ENOMEM;
        return -1;
    }
    gz_header h = {0};
    h.comment = (Bytef *)PROF_GZIP_COMMENT;
    h.os = 3; /* Unix */
    deflateSetHeader(&z, &h);
    uint8_t out[65536];
    z.next_in = p->msg.p;
    z.avail_in = (uInt)p->msg.len;
    int zr, rc = 0;
    do {
        z.next_out = out;
        z.avail_out = sizeof out;
        zr = deflate(&z, Z_FINISH);
        if (zr == Z_STREAM_ERROR) {
            errno = EIO;
            rc = -1;
            break;
        }
        if (fd_write_all(fd, out, sizeof out - z.avail_out, -1)) {
            rc = -1;
            break;
        }
    } while (zr != Z_STREAM_END);
    deflateEnd(&z);
    return rc;
}

int prof_is_ours(const unsigned char *head, size_t n)
{
    size_t lc = sizeof PROF_GZIP_COMMENT; /* with its NUL */
    /* magic, deflate, FLG = FCOMMENT only, MTIME(4) XFL OS, then the comment */
    return n >= 10 + lc && head[0] == 0x1f && head[1] == 0x8b && head[2] == 8 && head[3] == 0x10 &&
           !memcmp(head + 10, PROF_GZIP_COMMENT, lc);
}
