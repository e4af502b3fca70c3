/*
 * outfile.c — temporary file, fsync, rename (see outfile.h).
 */
#include "outfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int outfile_write(const char *out, outfile_fill fill, void *u, int (*keep)(const char *out, struct hs_error *err))
{
    size_t len = strlen(out);
    char *tmp = malloc(len + sizeof ".XXXXXX");
    if (!tmp) {
        cli_error("%s: out of memory", out);
        return EXIT_FAIL;
    }
    memcpy(tmp, out, len);
    memcpy(tmp + len, ".XXXXXX", sizeof ".XXXXXX");
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0) {
        cli_error("%s: cannot create: %s", out, strerror(errno));
        free(tmp);
        return EXIT_FAIL;
    }
    struct hs_error err = {{0}};
    int rc = fill(fd, u, &err);
    if (rc == 0 && fsync(fd) != 0 && errno != EINVAL) {
        snprintf(err.msg, sizeof err.msg, "%.400s: fsync: %s", out, strerror(errno));
        rc = -1;
    }
    if (close(fd) != 0 && rc == 0) {
        snprintf(err.msg, sizeof err.msg, "%.400s: close: %s", out, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && keep && keep(out, &err))
        rc = -1;
    if (rc == 0 && rename(tmp, out) != 0) {
        snprintf(err.msg, sizeof err.msg, "%.200s: rename from %.200s: %s", out, tmp, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        unlink(tmp);
        cli_error("%s", err.msg);
    }
    free(tmp);
    return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
