/*
 * json.h — a small streaming JSON writer, the one every `heapsnap CMD
 * --json` uses so that all commands emit the same dialect.
 *
 * Streaming: values go straight to a FILE as they are added; nothing is
 * buffered beyond the nesting stack, so a command can print a million heap
 * objects without holding them.  The writer inserts commas, colons and (if
 * asked) newlines and indentation; the caller only says what comes next.
 *
 *   struct json j;
 *   json_init(&j, stdout, JSON_PRETTY);
 *   json_begin_object(&j);
 *     json_kv_int(&j, "pid", 1234);
 *     json_kv_hex(&j, "base", 0x7f0000000000);     -> "base": "0x7f0000000000"
 *     json_key(&j, "argv");
 *     json_begin_array(&j);
 *       json_string(&j, "./a.out");
 *     json_end_array(&j);
 *   json_end_object(&j);
 *   if (json_finish(&j) != 0) ... write error ...
 *
 * The dialect, which consumers may rely on:
 *  - Integers are JSON numbers, written exactly (int64/uint64 in decimal).
 *    Consumers in languages with 53-bit doubles should use the hex form for
 *    addresses, which is why addresses are written as strings: "0x" followed
 *    by lower-case hex digits, no padding ("0x0" for zero).
 *  - Strings are UTF-8.  '"', '\\' and every control character below 0x20
 *    are escaped (\n \r \t \b \f by name, the rest as \u00XX); DEL (0x7f) is
 *    escaped as \u007f.  Bytes that are not well-formed UTF-8 (stray
 *    continuation bytes, overlong forms, surrogates, code points above
 *    U+10FFFF, sequences cut short) become U+FFFD, one per byte, so the
 *    output is always valid JSON even for paths and names that are not.
 *  - Non-finite doubles (NaN, infinities) are written as null.
 *
 * Errors: calling in the wrong order (a value in an object without a key, a
 * key inside an array, an end that does not match its begin, nesting deeper
 * than JSON_MAX_DEPTH) is a programming error: the writer prints what was
 * wrong to stderr and aborts, so tests catch it.  I/O errors are sticky and
 * reported once, by json_finish().
 */
#ifndef HEAPSNAP_BASE_JSON_H
#define HEAPSNAP_BASE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 64

/* json_init flags */
#define JSON_COMPACT 0x0u /* everything on one line (for pipes into other tools) */
#define JSON_PRETTY  0x1u /* two-space indentation, one member per line */

/* The writer's state.  Treat as opaque; it lives on the caller's stack. */
struct json {
    FILE *out;
    unsigned flags;
    int depth;                       /* number of open containers */
    char kind[JSON_MAX_DEPTH];       /* 'o' object or 'a' array, per level */
    unsigned char count[JSON_MAX_DEPTH]; /* 0 = empty so far, 1 = has members */
    int after_key;                   /* a key was written; its value comes next */
    int done;                        /* the top-level value is complete */
};

void json_init(struct json *j, FILE *out, unsigned flags);

/* Containers.  In an object every value must be preceded by json_key(). */
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
void json_key(struct json *j, const char *key);

/* Values. */
void json_string(struct json *j, const char *s);          /* NULL writes null */
void json_string_n(struct json *j, const char *s, size_t n); /* n bytes, may hold NULs (\u0000) */
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_hex(struct json *j, uint64_t v);                /* "0x1f" */
void json_double(struct json *j, double v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);

/* Key + value in one call, for the common case inside objects. */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_int(struct json *j, const char *key, int64_t v);
void json_kv_uint(struct json *j, const char *key, uint64_t v);
void json_kv_hex(struct json *j, const char *key, uint64_t v);
void json_kv_double(struct json *j, const char *key, double v);
void json_kv_bool(struct json *j, const char *key, int v);
void json_kv_null(struct json *j, const char *key);

/*
 * End the document: check that every container was closed, write the final
 * newline and flush.  Returns 0, or -1 if any write to the FILE failed
 * (the caller reports it, e.g. "stdout: No space left on device").
 */
int json_finish(struct json *j);

/* Write s as a JSON string literal (quotes included) to f: the escaping
 * above, for callers that build JSON by hand (e.g. SQL result rows). */
void json_write_string(FILE *f, const char *s, size_t n);

#endif
