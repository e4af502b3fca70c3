/*
 * procfs.h — what heapsnap-capture learns about a process from /proc.
 *
 * Everything here is plain reading of /proc/PID/... files; nothing stops or
 * touches the target.  main.c reads the mappings twice: once before the stop
 * (to size the copy buffer) and once while every thread is stopped (the
 * truth that is written to the file).  The environment (/proc/PID/environ)
 * is deliberately never read: a snapshot must not carry secrets that the
 * user did not ask for.
 *
 * Functions return 0 on success and -1 with errno set (ENOENT/ESRCH when the
 * process or thread is gone, EACCES/EPERM when we may not look).
 */
#ifndef HEAPSNAP_CAPTURE_PROCFS_H
#define HEAPSNAP_CAPTURE_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hsnap.h"

/* The mappings of pid, from /proc/PID/smaps when with_smaps (then the smaps
 * figures and VmFlags are filled in) or the cheaper /proc/PID/maps.  The
 * array and its strings are owned by the caller: procfs_free_maps(). */
int procfs_read_maps(pid_t pid, int with_smaps, struct hs_mapping **out, size_t *n);
void procfs_free_maps(struct hs_mapping *m, size_t n);

/* The thread ids in /proc/PID/task, in no particular order. */
int procfs_list_tasks(pid_t pid, pid_t **tids, size_t *n);

/* The state letter and comm of one thread ("R", "S", "D", "T", "t", "Z"...). */
int procfs_task_state(pid_t pid, pid_t tid, char *state, char name[16]);

/* The state letter of the process itself ('Z' or 'X' once it has exited). */
int procfs_proc_state(pid_t pid, char *state);

/* True once the process has exited: no /proc entry, or every thread is a
 * zombie.  (A zombie main thread alone is not enough: after pthread_exit()
 * in main() the others run on.) */
int procfs_process_exited(pid_t pid);

/* [env_start, env_end) from /proc/PID/stat: where the kernel put the
 * environment strings at exec time, on the main thread's stack. */
int procfs_env_range(pid_t pid, uint64_t *start, uint64_t *end);

/* auxv as (type, value) pairs up to AT_NULL; *auxv is malloc'd. */
int procfs_read_auxv(pid_t pid, uint64_t **auxv, uint32_t *count);

/* argv from /proc/PID/cmdline; one malloc'd array of malloc'd strings. */
int procfs_read_cmdline(pid_t pid, char ***argv, uint32_t *argc);

/* readlink /proc/PID/exe, malloc'd; "" when it cannot be read. */
char *procfs_read_exe(pid_t pid);

/* A numeric field of /proc/PID/status ("TracerPid", "Uid"), or -1. */
long procfs_status_field(pid_t pid, const char *key);
/* The same from /proc/PID/task/TID/status: one thread's own (TracerPid). */
long procfs_task_status_field(pid_t pid, pid_t tid, const char *key);

/* Whether the VmFlags line of smaps (vmflags, may be NULL) holds the
 * two-letter flag f ("dc", "wf", "nr", ...). */
int procfs_has_vmflag(const char *vmflags, const char *f);

/* MemAvailable from /proc/meminfo, in bytes (0 if unknown). */
uint64_t procfs_mem_available(void);

#endif /* HEAPSNAP_CAPTURE_PROCFS_H */
