/*
 * cowsafe.c — cow_preflight(): whether a copy-on-write fork of the target
 * is safe, decided from /proc and the cgroup files before the target is
 * stopped (see cow.h).  What can only be known with the target stopped (its
 * seccomp filters, a syscall instruction, the kernel's own answer to the
 * clone) is cow.c's.
 *
 * The memory rule.  After the fork, every page the target writes while the
 * copy lives costs a fresh page, charged to the target's memory cgroup: a
 * cgroup near its limit would reclaim or OOM-kill the target.  How much the
 * target will write is not knowable beforehand (this kernel has no
 * soft-dirty tracking), so the rule is explicit: the headroom of its memory
 * cgroup (the tightest of it and its ancestors) and of the host
 * (MemAvailable) must hold a quarter of its private anonymous resident
 * memory, plus the copy's page tables (1/512 of its resident memory), plus
 * 16 MiB.  Otherwise the capture falls back to a mode whose memory is its
 * own and bounded by --max-buffer.
 */
#include "cow.h"
#include "procfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB(x) ((unsigned long long)((x) >> 20))

static int read_u64_file(const char *path, uint64_t *v, int *unlimited)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char buf[64] = "";
    int ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    *unlimited = strncmp(buf, "max", 3) == 0;
    *v = *unlimited ? UINT64_MAX : strtoull(buf, NULL, 10);
    return 0;
}

/* Where the v1 memory controller, or the v2 hierarchy, is mounted here. */
static int cgroup_mount(int v2, char *out, size_t len)
{
    FILE *f = fopen("/proc/self/mounts", "re");
    if (!f)
        return -1;
    char line[1024];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        char dev[256], dir[512], type[64], opts[512];
        if (sscanf(line, "%255s %511s %63s %511s", dev, dir, type, opts) != 4)
            continue;
        if (v2 ? strcmp(type, "cgroup2") == 0
               : strcmp(type, "cgroup") == 0 && (strstr(opts, ",memory") || strncmp(opts, "memory", 6) == 0)) {
            snprintf(out, len, "%s", dir);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

/*
 * The smallest limit - usage over the target's memory cgroup and its
 * ancestors.  0 with *headroom (UINT64_MAX: no limit) and the cgroup's
 * path in where, or -1 if the target is in no memory cgroup we can see.
 */
static int cgroup_headroom(pid_t pid, uint64_t *headroom, char *where, size_t wlen)
{
    char path[64], line[1024], rel[1024] = "";
    int v2 = -1;
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        *c1 = '\0';
        const char *ctl = c1 + 1;
        int is_mem = 0;
        for (const char *p = ctl; (p = strstr(p, "memory")); p += 6)
            if ((p == ctl || p[-1] == ',') && (p[6] == '\0' || p[6] == ','))
                is_mem = 1;
        if (is_mem) {
            snprintf(rel, sizeof rel, "%s", c2 + 1);
            v2 = 0;
            break;
        }
        if (*ctl == '\0' && strcmp(line, "0") == 0) {
            snprintf(rel, sizeof rel, "%s", c2 + 1);
            v2 = 1; /* keep looking: a v1 memory controller wins */
        }
    }
    fclose(f);
    char mnt[512];
    if (v2 < 0 || cgroup_mount(v2, mnt, sizeof mnt) < 0)
        return -1;
    snprintf(where, wlen, "%s", rel);
    *headroom = UINT64_MAX;
    /* From the target's own cgroup up to the root of the hierarchy. */
    for (;;) {
        char dir[1600], lim[1700], use[1700];
        snprintf(dir, sizeof dir, "%s%s", mnt, rel);
        snprintf(lim, sizeof lim, "%s/%s", dir, v2 ? "memory.max" : "memory.limit_in_bytes");
        snprintf(use, sizeof use, "%s/%s", dir, v2 ? "memory.current" : "memory.usage_in_bytes");
        uint64_t l, u;
        int unl, unu;
        if (read_u64_file(lim, &l, &unl) == 0 && read_u64_file(use, &u, &unu) == 0 && !unl &&
            l < (1ull << 62)) {
            uint64_t h = l > u ? l - u : 0;
            if (h < *headroom)
                *headroom = h;
        }
        char *slash = strrchr(rel, '/');
        if (!slash || rel[1] == '\0')
            break;
        if (slash == rel)
            rel[1] = '\0';
        else
            *slash = '\0';
    }
    return 0;
}

static uint64_t meminfo(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return 0;
    char line[256];
    size_t kl = strlen(key);
    uint64_t v = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtoull(line + kl + 1, NULL, 10) * 1024;
            break;
        }
    fclose(f);
    return v;
}

/* The last number of the NSpid line: the target's pid in its own namespace. */
static long ns_pid(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "NSpid:", 6) == 0) {
            char *p = line + 6, *end;
            for (;;) {
                long x = strtol(p, &end, 10);
                if (end == p)
                    break;
                v = x;
                p = end;
            }
            break;
        }
    fclose(f);
    return v;
}

static int have_cap_sys_admin(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return 0;
    char line[256];
    unsigned long long caps = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "CapEff:", 7) == 0)
            caps = strtoull(line + 7, NULL, 16);
    fclose(f);
    return (caps >> 21) & 1; /* CAP_SYS_ADMIN */
}

int cow_preflight(pid_t pid, const struct hs_mapping *pre, size_t npre, char *why, size_t len)
{
    if (ns_pid(pid) == 1) {
        snprintf(why, len, "it is PID 1 of its PID namespace, whose fork can only be its own child "
                           "(no CLONE_PARENT), left to it to reap");
        return -1;
    }
    char st = 0;
    if (procfs_proc_state(pid, &st) == 0 && st == 'T') {
        snprintf(why, len, "it is stopped (SIGSTOP), so a copy would not shorten any pause");
        return -1;
    }
    long sc = procfs_status_field(pid, "Seccomp");
    if (sc == 1) {
        snprintf(why, len, "it runs in strict seccomp mode, which forbids clone");
        return -1;
    }
    if (sc == 2 && !have_cap_sys_admin()) {
        snprintf(why, len, "it has a seccomp filter, and reading it to see whether it allows clone needs "
                           "CAP_SYS_ADMIN");
        return -1;
    }
    uint64_t anon = 0, rss = 0, commit = 0;
    for (size_t i = 0; i < npre; i++) {
        const struct hs_mapping *m = &pre[i];
        if (procfs_has_vmflag(m->vmflags, "um") || procfs_has_vmflag(m->vmflags, "uw") || procfs_has_vmflag(m->vmflags, "ui")) {
            snprintf(why, len, "it uses userfaultfd (at 0x%llx), whose monitor would see the fork",
                     (unsigned long long)m->start);
            return -1;
        }
        rss += m->rss;
        if (!(m->flags & HS_MAP_SHARED)) {
            anon += m->anonymous;
            /* What fork charges against the commit limit: private writable
             * memory that is not MAP_NORESERVE or hugetlb. */
            if ((m->flags & HS_MAP_W) && !procfs_has_vmflag(m->vmflags, "nr") && !procfs_has_vmflag(m->vmflags, "ht"))
                commit += m->end - m->start;
        }
    }
    FILE *f = fopen("/proc/sys/vm/overcommit_memory", "re");
    int oc = 0;
    if (f) {
        if (fscanf(f, "%d", &oc) != 1)
            oc = 0;
        fclose(f);
    }
    if (oc == 2) {
        uint64_t limit = meminfo("CommitLimit"), used = meminfo("Committed_AS");
        uint64_t room = limit > used ? limit - used : 0;
        if (commit > room) {
            snprintf(why, len, "overcommit would refuse the fork (vm.overcommit_memory=2: %llu MiB to commit, "
                               "%llu MiB left under CommitLimit)", MiB(commit), MiB(room));
            return -1;
        }
    } else if (oc == 0 && commit > meminfo("MemTotal") + meminfo("SwapTotal")) {
        /* The heuristic mode: measured on 6.18, the fork fails with ENOMEM
         * once the accounted mappings add up to more than RAM and swap
         * (two of 0.52 and 0.5 of RAM fail, one of 0.96 forks), though
         * each of them alone passed mmap's check. */
        snprintf(why, len, "overcommit would refuse the fork (%llu MiB of private writable memory is more than "
                           "RAM and swap)", MiB(commit));
        return -1;
    }
    uint64_t need = anon / 4 + rss / 512 + (16ull << 20);
    uint64_t head;
    char where[1024];
    if (cgroup_headroom(pid, &head, where, sizeof where) == 0 && head < need) {
        snprintf(why, len, "its memory cgroup %s has %llu MiB below its limit, less than the %llu MiB that the "
                           "copies of pages it writes could take",
                 where, MiB(head), MiB(need));
        return -1;
    }
    uint64_t avail = procfs_mem_available();
    if (avail && avail < need) {
        snprintf(why, len, "the host has %llu MiB available, less than the %llu MiB that the copies of pages "
                           "it writes could take", MiB(avail), MiB(need));
        return -1;
    }
    return 0;
}
