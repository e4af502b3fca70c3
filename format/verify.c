/*
 * verify.c — hs_verify(): check a whole snapshot without trusting it, for
 * `heapsnap verify`.
 *
 * It is the reader's walk (reader.c) in its strict mode: every header and
 * payload checksum, every decompression (into a scratch buffer, so a
 * 1 GiB capture does not need 1 GiB of memory), every record, the memory
 * block structure, the index and the footer; a cut-off file is an error
 * here rather than a warning.  One line per section goes to the log.
 */
#include <string.h>

#include "hsnap.h"
#include "snapshot.h"

int hs_verify_memory(const void *buf, size_t len, const char *name, FILE *log, struct hs_error *err)
{
    struct hs_snapshot *s = hs_parse(buf, len, name ? name : "(memory)", 0, 1, log, err);
    if (!s)
        return -1;
    hs_close(s);
    return 0;
}

int hs_verify(const char *path, FILE *log, struct hs_error *err)
{
    const uint8_t *buf;
    size_t len;
    int mapped;
    if (hs_load(path, &buf, &len, &mapped, err) < 0)
        return -1;
    int r = hs_verify_memory(buf, len, strcmp(path, "-") ? path : "(stdin)", log, err);
    hs_unload(buf, len, mapped);
    return r;
}
