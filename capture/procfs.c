/*
 * procfs.c — parsing of /proc/PID/{maps,smaps,task,stat,status,auxv,cmdline}
 * for heapsnap-capture.  See procfs.h for the contract.
 *
 * The parsers are strict about what they use and lenient about the rest:
 * a kernel that adds an smaps key or a stat field must not break a capture.
 */
#include "procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whole small /proc file into a malloc'd, NUL-terminated buffer.  /proc
 * files report size 0, so read until EOF. */
static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf) {
        errno = ENOMEM;
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* slurp /proc/PID/FILE. */
static char *slurp_proc(pid_t pid, const char *file, size_t *len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    return slurp(path, len);
}

/* "7f00-7f10 rw-p 00001000 fd:01 1234   /usr/lib/x.so" -> m.  Returns 0 if
 * the line is a mapping header, -1 if it is something else (an smaps key). */
static int parse_map_line(const char *line, struct hs_mapping *m)
{
    unsigned long long start, end, off, inode;
    unsigned maj, min;
    char perms[8];
    int pos = 0;
    if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu%n", &start, &end, perms, &off, &maj, &min,
               &inode, &pos) != 7 || strlen(perms) < 4)
        return -1;
    memset(m, 0, sizeof *m);
    m->start = start;
    m->end = end;
    m->offset = off;
    m->dev_major = maj;
    m->dev_minor = min;
    m->inode = inode;
    if (perms[0] == 'r') m->flags |= HS_MAP_R;
    if (perms[1] == 'w') m->flags |= HS_MAP_W;
    if (perms[2] == 'x') m->flags |= HS_MAP_X;
    if (perms[3] == 's') m->flags |= HS_MAP_SHARED;
    const char *p = line + pos;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, "\n");
    m->path = strndup(p, len);
    if (!m->path)
        return -1;
    /* Anonymous: no path, or a kernel pseudo-name such as [heap] or
     * [stack]; "[anon:name]" from prctl(PR_SET_VMA) is anonymous too. */
    if (len == 0 || p[0] == '[')
        m->flags |= HS_MAP_ANON;
    return 0;
}

static void smaps_key(struct hs_mapping *m, const char *line)
{
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        {"Rss:", offsetof(struct hs_mapping, rss)},
        {"Pss:", offsetof(struct hs_mapping, pss)},
        {"Private_Clean:", offsetof(struct hs_mapping, private_clean)},
        {"Private_Dirty:", offsetof(struct hs_mapping, private_dirty)},
        {"Shared_Clean:", offsetof(struct hs_mapping, shared_clean)},
        {"Shared_Dirty:", offsetof(struct hs_mapping, shared_dirty)},
        {"Swap:", offsetof(struct hs_mapping, swap)},
        {"Anonymous:", offsetof(struct hs_mapping, anonymous)},
        {"AnonHugePages:", offsetof(struct hs_mapping, anon_huge)},
        {"LazyFree:", offsetof(struct hs_mapping, lazyfree)},
    };
    if (strncmp(line, "VmFlags:", 8) == 0) {
        const char *p = line + 8;
        while (*p == ' ')
            p++;
        free(m->vmflags);
        m->vmflags = strndup(p, strcspn(p, "\n"));
        return;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        size_t kl = strlen(keys[i].key);
        if (strncmp(line, keys[i].key, kl) == 0) {
            unsigned long long kb = strtoull(line + kl, NULL, 10);
            *(uint64_t *)((char *)m + keys[i].off) = kb * 1024;
            return;
        }
    }
}

int procfs_read_maps(pid_t pid, int with_smaps, struct hs_mapping **out, size_t *n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, with_smaps ? "smaps" : "maps");
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    struct hs_mapping *v = NULL;
    size_t cnt = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    int rc = 0;
    while (getline(&line, &lcap, f) > 0) {
        struct hs_mapping m;
        if (parse_map_line(line, &m) == 0) {
            if (cnt == cap) {
                size_t nc = cap ? cap * 2 : 64;
                struct hs_mapping *nv = realloc(v, nc * sizeof *nv);
                if (!nv) {
                    free(m.path);
                    rc = -1;
                    errno = ENOMEM;
                    break;
                }
                v = nv;
                cap = nc;
            }
            v[cnt++] = m;
        } else if (cnt > 0 && with_smaps) {
            smaps_key(&v[cnt - 1], line);
        }
    }
    /* A read error (EACCES surfaces here on some kernels) is a failure, not
     * an empty process. */
    if (rc == 0 && ferror(f)) {
        rc = -1;
        if (!errno)
            errno = EIO;
    }
    if (rc == 0 && cnt == 0) {
        /* An empty map list means a zombie or a kernel thread. */
        rc = -1;
        errno = ESRCH;
    }
    int e = errno;
    free(line);
    fclose(f);
    if (rc) {
        procfs_free_maps(v, cnt);
        errno = e;
        return -1;
    }
    for (size_t i = 0; i < cnt; i++)
        if (!v[i].vmflags)
            v[i].vmflags = strdup("");
    *out = v;
    *n = cnt;
    return 0;
}

void procfs_free_maps(struct hs_mapping *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].path);
        free(m[i].vmflags);
    }
    free(m);
}

int procfs_list_tasks(pid_t pid, pid_t **tids, size_t *n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    pid_t *v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 32;
            pid_t *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                free(v);
                closedir(d);
                errno = ENOMEM;
                return -1;
            }
            v = nv;
            cap = nc;
        }
        v[cnt++] = (pid_t)atoi(de->d_name);
    }
    closedir(d);
    *tids = v;
    *n = cnt;
    return 0;
}

/* The fields of a stat line after "(comm) ", split on spaces; field 3 (the
 * state) is fields[0].  comm may hold spaces and parentheses, so the split
 * starts after the last ')'. */
static int stat_fields(const char *path, char **buf, char *comm, size_t commlen,
                       const char **fields, int maxf)
{
    *buf = slurp(path, NULL);
    if (!*buf)
        return -1;
    char *open = strchr(*buf, '(');
    char *close = strrchr(*buf, ')');
    if (!open || !close || close < open) {
        free(*buf);
        errno = EPROTO;
        return -1;
    }
    if (comm) {
        size_t l = (size_t)(close - open - 1);
        if (l >= commlen)
            l = commlen - 1;
        memcpy(comm, open + 1, l);
        comm[l] = '\0';
    }
    int nf = 0;
    char *p = close + 1;
    char *save = NULL;
    for (char *tok = strtok_r(p, " \n", &save); tok && nf < maxf; tok = strtok_r(NULL, " \n", &save))
        fields[nf++] = tok;
    return nf;
}

int procfs_task_state(pid_t pid, pid_t tid, char *state, char name[16])
{
    char path[80], *buf;
    const char *f[1];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    if (stat_fields(path, &buf, name, 16, f, 1) < 1)
        return -1;
    *state = f[0][0];
    free(buf);
    return 0;
}

int procfs_proc_state(pid_t pid, char *state)
{
    char path[64], *buf;
    const char *f[1];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (stat_fields(path, &buf, NULL, 0, f, 1) < 1)
        return -1;
    *state = f[0][0];
    free(buf);
    return 0;
}

int procfs_process_exited(pid_t pid)
{
    char st;
    if (procfs_proc_state(pid, &st) < 0)
        return 1;
    if (st != 'Z' && st != 'X')
        return 0;
    pid_t *tids;
    size_t n;
    if (procfs_list_tasks(pid, &tids, &n) < 0)
        return 1;
    int live = 0;
    char name[16];
    for (size_t i = 0; i < n && !live; i++)
        live = procfs_task_state(pid, tids[i], &st, name) == 0 && st != 'Z' && st != 'X';
    free(tids);
    return !live;
}

int procfs_env_range(pid_t pid, uint64_t *start, uint64_t *end)
{
    char path[64], *buf;
    const char *f[52];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int nf = stat_fields(path, &buf, NULL, 0, f, 52);
    if (nf < 0)
        return -1;
    /* env_start and env_end are fields 50 and 51 (1-based), i.e. 47 and 48
     * here; the kernel shows 0 for them unless we may ptrace the target. */
    if (nf < 49) {
        free(buf);
        errno = EPROTO;
        return -1;
    }
    *start = strtoull(f[47], NULL, 10);
    *end = strtoull(f[48], NULL, 10);
    free(buf);
    return 0;
}

int procfs_read_auxv(pid_t pid, uint64_t **auxv, uint32_t *count)
{
    size_t len;
    char *buf = slurp_proc(pid, "auxv", &len);
    if (!buf)
        return -1;
    size_t pairs = len / 16, n = 0;
    uint64_t *v = malloc((pairs ? pairs : 1) * 16);
    if (!v) {
        free(buf);
        errno = ENOMEM;
        return -1;
    }
    for (; n < pairs; n++) {
        memcpy(&v[2 * n], buf + 16 * n, 16);
        if (v[2 * n] == 0) /* AT_NULL ends the vector */
            break;
    }
    free(buf);
    *auxv = v;
    *count = (uint32_t)n;
    return 0;
}

int procfs_read_cmdline(pid_t pid, char ***argv, uint32_t *argc)
{
    size_t len;
    char *buf = slurp_proc(pid, "cmdline", &len);
    if (!buf)
        return -1;
    uint32_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\0')
            n++;
    if (len > 0 && buf[len - 1] != '\0')
        n++; /* a process that rewrote its argv may drop the last NUL */
    char **v = calloc(n + 1, sizeof *v);
    if (!v) {
        free(buf);
        errno = ENOMEM;
        return -1;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t l = strnlen(buf + off, len - off);
        v[i] = strndup(buf + off, l);
        off += l + 1;
    }
    free(buf);
    *argv = v;
    *argc = n;
    return 0;
}

char *procfs_read_exe(pid_t pid)
{
    char path[64], target[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0)
        n = 0;
    target[n] = '\0';
    return strdup(target);
}

static long status_field(pid_t pid, const char *file, const char *key);

long procfs_status_field(pid_t pid, const char *key)
{
    return status_field(pid, "status", key);
}

long procfs_task_status_field(pid_t pid, pid_t tid, const char *key)
{
    char file[64];
    snprintf(file, sizeof file, "task/%d/status", (int)tid);
    return status_field(pid, file, key);
}

static long status_field(pid_t pid, const char *file, const char *key)
{
    char *buf = slurp_proc(pid, file, NULL);
    if (!buf)
        return -1;
    long v = -1;
    size_t kl = strlen(key);
    for (char *line = buf; *line;) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
        char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    free(buf);
    return v;
}

uint64_t procfs_mem_available(void)
{
    char *buf = slurp("/proc/meminfo", NULL);
    if (!buf)
        return 0;
    uint64_t v = 0;
    char *p = strstr(buf, "MemAvailable:");
    if (p)
        v = strtoull(p + 13, NULL, 10) * 1024;
    free(buf);
    return v;
}

int procfs_has_vmflag(const char *vmflags, const char *f)
{
    for (const char *p = vmflags; p && (p = strstr(p, f)); p += 2)
        if ((p == vmflags || p[-1] == ' ') && (p[2] == ' ' || p[2] == '\0' || p[2] == '\n'))
            return 1;
    return 0;
}
