/*
 * json.c — the streaming JSON writer behind every --json (contract and
 * dialect in json.h).
 *
 * The only state is a stack of open containers with a "has members" bit
 * each: that is all that is needed to place commas and indentation.  String
 * escaping validates UTF-8 itself rather than trusting the C library's
 * locale, because the strings come from a snapshot of another machine and
 * may be anything.
 */
#include "base/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void misuse(const char *what)
{
    fprintf(stderr, "heapsnap: internal error: JSON writer misused: %s\n", what);
    abort();
}

void json_init(struct json *j, FILE *out, unsigned flags)
{
    memset(j, 0, sizeof *j);
    j->out = out;
    j->flags = flags;
}

static void newline_indent(struct json *j, int depth)
{
    if (!(j->flags & JSON_PRETTY))
        return;
    fputc('\n', j->out);
    for (int i = 0; i < depth; i++)
        fputs("  ", j->out);
}

/* Everything that comes before a value: the comma and indentation in an
 * array, or nothing after a key; and the checks that a value may come here. */
static void before_value(struct json *j)
{
    if (j->done)
        misuse("a second top-level value");
    if (j->depth == 0)
        return;
    if (j->kind[j->depth - 1] == 'o') {
        if (!j->after_key)
            misuse("a value in an object without a key");
        j->after_key = 0;
        return;
    }
    if (j->count[j->depth - 1])
        fputc(',', j->out);
    j->count[j->depth - 1] = 1;
    newline_indent(j, j->depth);
}

/* After a scalar or a closed container: at depth 0 the document is complete. */
static void after_value(struct json *j)
{
    if (j->depth == 0)
        j->done = 1;
}

static void begin(struct json *j, char kind)
{
    before_value(j);
    if (j->depth >= JSON_MAX_DEPTH)
        misuse("nested deeper than JSON_MAX_DEPTH");
    fputc(kind == 'o' ? '{' : '[', j->out);
    j->kind[j->depth] = kind;
    j->count[j->depth] = 0;
    j->depth++;
}

static void end(struct json *j, char kind)
{
    if (j->depth == 0 || j->kind[j->depth - 1] != kind)
        misuse(kind == 'o' ? "end_object without a matching begin_object"
                           : "end_array without a matching begin_array");
    if (j->after_key)
        misuse("end_object right after a key");
    j->depth--;
    if (j->count[j->depth])
        newline_indent(j, j->depth);
    fputc(kind == 'o' ? '}' : ']', j->out);
    after_value(j);
}

void json_begin_object(struct json *j) { begin(j, 'o'); }
void json_end_object(struct json *j) { end(j, 'o'); }
void json_begin_array(struct json *j) { begin(j, 'a'); }
void json_end_array(struct json *j) { end(j, 'a'); }

void json_key(struct json *j, const char *key)
{
    if (j->depth == 0 || j->kind[j->depth - 1] != 'o')
        misuse("a key outside an object");
    if (j->after_key)
        misuse("two keys in a row");
    if (j->count[j->depth - 1])
        fputc(',', j->out);
    j->count[j->depth - 1] = 1;
    newline_indent(j, j->depth);
    json_write_string(j->out, key, strlen(key));
    fputs((j->flags & JSON_PRETTY) ? ": " : ":", j->out);
    j->after_key = 1;
}

/*
 * The length of the well-formed UTF-8 sequence at s (at most n bytes), or 0
 * if the byte at s does not start one.  Well-formed as in Unicode table 3-7:
 * no overlong forms, no surrogates, nothing above U+10FFFF.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

void json_write_string(FILE *f, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            /* Copy the plain ASCII run in one go. */
            size_t k = i + 1;
            while (k < n && s[k] >= 0x20 && s[k] < 0x7f && s[k] != '"' && s[k] != '\\')
                k++;
            fwrite(s + i, 1, k - i, f);
            i = k;
            continue;
        }
        if (c < 0x80) {
            switch (c) {
            case '"': fputs("\\\"", f); break;
            case '\\': fputs("\\\\", f); break;
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            default: fprintf(f, "\\u%04x", c); break;
            }
            i++;
            continue;
        }
        size_t len = utf8_len(s + i, n - i);
        if (len) {
            fwrite(s + i, 1, len, f);
            i += len;
        } else {
            fputs("\\ufffd", f);
            i++;
        }
    }
    fputc('"', f);
}

void json_string_n(struct json *j, const char *s, size_t n)
{
    before_value(j);
    json_write_string(j->out, s, n);
    after_value(j);
}

void json_string(struct json *j, const char *s)
{
    if (!s) {
        json_null(j);
        return;
    }
    json_string_n(j, s, strlen(s));
}

void json_int(struct json *j, int64_t v)
{
    before_value(j);
    fprintf(j->out, "%" PRId64, v);
    after_value(j);
}

void json_uint(struct json *j, uint64_t v)
{
    before_value(j);
    fprintf(j->out, "%" PRIu64, v);
    after_value(j);
}

void json_hex(struct json *j, uint64_t v)
{
    before_value(j);
    fprintf(j->out, "\"0x%" PRIx64 "\"", v);
    after_value(j);
}

void json_double(struct json *j, double v)
{
    if (!isfinite(v)) {
        json_null(j);
        return;
    }
    before_value(j);
    /* %.17g round-trips; it may print "1e+20" which is valid JSON, but
     * never "inf" or "nan" (excluded above). */
    fprintf(j->out, "%.17g", v);
    after_value(j);
}

void json_bool(struct json *j, int v)
{
    before_value(j);
    fputs(v ? "true" : "false", j->out);
    after_value(j);
}

void json_null(struct json *j)
{
    before_value(j);
    fputs("null", j->out);
    after_value(j);
}

void json_kv_string(struct json *j, const char *key, const char *s) { json_key(j, key); json_string(j, s); }
void json_kv_int(struct json *j, const char *key, int64_t v) { json_key(j, key); json_int(j, v); }
void json_kv_uint(struct json *j, const char *key, uint64_t v) { json_key(j, key); json_uint(j, v); }
void json_kv_hex(struct json *j, const char *key, uint64_t v) { json_key(j, key); json_hex(j, v); }
void json_kv_double(struct json *j, const char *key, double v) { json_key(j, key); json_double(j, v); }
void json_kv_bool(struct json *j, const char *key, int v) { json_key(j, key); json_bool(j, v); }
void json_kv_null(struct json *j, const char *key) { json_key(j, key); json_null(j); }

int json_finish(struct json *j)
{
    if (j->depth != 0)
        misuse("json_finish with containers still open");
    if (!j->done)
        misuse("json_finish before any value");
    fputc('\n', j->out);
    if (fflush(j->out) != 0 || ferror(j->out))
        return -1;
    return 0;
}
