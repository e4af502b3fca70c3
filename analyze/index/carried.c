/*
 * carried.c — a snapshot's carried files, written out for debuginfo to
 * find first (see carried.h).
 */
#include "index/carried.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int keep(struct carried *c, const char *path)
{
    char **v = realloc(c->paths, (c->npaths + 1) * sizeof *v);
    if (!v)
        return -1;
    c->paths = v;
    if (!(v[c->npaths] = strdup(path)))
        return -1;
    c->npaths++;
    return 0;
}

/* path, created 0600 (never over anything), holding len bytes of data. */
static int write_file(struct carried *c, const char *path, const uint8_t *data, uint64_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (keep(c, path)) {
        close(fd);
        unlink(path);
        return -1;
    }
    for (uint64_t done = 0; done < len;) {
        ssize_t r = write(fd, data + done, (size_t)(len - done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            return -1;
        }
        done += (uint64_t)r;
    }
    return close(fd);
}

/* mkdir, remembered for removal (directories after the files in them). */
static int make_dir(struct carried *c, const char *path)
{
    if (mkdir(path, 0700) < 0)
        return errno == EEXIST ? 0 : -1;
    return keep(c, path);
}

int carried_extract(const struct hs_snapshot *s, struct carried *c, struct dbg_options *opt, char *err,
                    size_t errlen)
{
    memset(c, 0, sizeof *c);
    size_t nf, nmods;
    const struct hs_file *f = hs_get_files(s, &nf);
    hs_get_modules(s, &nmods);
    if (nf == 0)
        return 0;
    const char *tmp = getenv("TMPDIR");
    char dir[3072], path[4096];
    if (snprintf(dir, sizeof dir, "%s/heapsnap-carried-XXXXXX", tmp && *tmp ? tmp : "/tmp") >= (int)sizeof dir)
        errno = ENAMETOOLONG;
    else if (mkdtemp(dir) && (c->dir = strdup(dir)))
        errno = 0;
    if (!c->dir) {
        snprintf(err, errlen, "%s: cannot make a directory for the snapshot's carried files: %s", dir,
                 strerror(errno));
        return -1;
    }
    if (nmods && !(c->binaries = calloc(nmods, sizeof *c->binaries)))
        goto oom;
    c->nbinaries = nmods;
    for (size_t i = 0; i < nf; i++) {
        if (!f[i].data)
            continue;
        if (f[i].kind == HS_FILE_EXECUTABLE && f[i].module < nmods && !c->binaries[f[i].module]) {
            snprintf(path, sizeof path, "%s/exe-%u", dir, f[i].module);
            if (write_file(c, path, f[i].data, f[i].size))
                goto fail;
            c->binaries[f[i].module] = c->paths[c->npaths - 1];
        } else if (f[i].kind == HS_FILE_DEBUG && f[i].build_id_len >= 2) {
            char hex[2 * sizeof f[i].build_id + 1];
            for (uint32_t k = 0; k < f[i].build_id_len; k++)
                snprintf(hex + 2 * k, 3, "%02x", f[i].build_id[k]);
            snprintf(path, sizeof path, "%s/.build-id", dir);
            if (make_dir(c, path))
                goto fail;
            snprintf(path, sizeof path, "%s/.build-id/%.2s", dir, hex);
            if (make_dir(c, path))
                goto fail;
            snprintf(path, sizeof path, "%s/.build-id/%.2s/%s.debug", dir, hex, hex + 2);
            if (access(path, F_OK) == 0)
                continue; /* one debug file per build-id is enough */
            if (write_file(c, path, f[i].data, f[i].size))
                goto fail;
        }
    }
    opt->carried_binaries = c->binaries;
    opt->ncarried_binaries = c->nbinaries;
    opt->carried_dir = c->dir;
    return 0;
fail:
    snprintf(err, errlen, "%s: cannot write the snapshot's carried file: %s", path, strerror(errno));
    carried_remove(c);
    return -1;
oom:
    snprintf(err, errlen, "out of memory writing the snapshot's carried files");
    carried_remove(c);
    return -1;
}

void carried_remove(struct carried *c)
{
    for (size_t i = c->npaths; i-- > 0;) {
        struct stat st;
        if (lstat(c->paths[i], &st) == 0 && S_ISDIR(st.st_mode))
            rmdir(c->paths[i]);
        else
            unlink(c->paths[i]);
        free(c->paths[i]);
    }
    free(c->paths);
    if (c->dir)
        rmdir(c->dir);
    free(c->dir);
    free(c->binaries);
    memset(c, 0, sizeof *c);
}
