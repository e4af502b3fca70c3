/*
 * glibc/walk.h — the state of one walk of a glibc heap, shared by the files
 * that walk it: walker.c (the order of the steps, the chunk array, what is
 * reported), arenas.c (arenas and their heaps), freelists.c (fastbins,
 * bins, tcaches) and mmapped.c (mmapped chunks).  Nothing outside
 * heap/glibc/ sees it.
 */
#ifndef HEAPSNAP_HEAP_GLIBC_WALK_H
#define HEAPSNAP_HEAP_GLIBC_WALK_H

#include <stdint.h>

#include "heap/glibc/internal.h"

#define GL_NO_ARENA HEAP_NO_ARENA /* an mmapped chunk is in no arena */
#define MAX_ARENAS  1024u   /* glibc caps arenas at 8 per core */
#define MAX_HEAPS   4096u   /* per arena; 64 MiB each */
#define TLS_SCAN    8192u   /* bytes below a thread's fs_base searched for `tcache` */

/* Where a glibc chunk sits: its where value (allocator.h), named in
 * walker.c's glibc_wheres. */
enum gl_where_kind {
    GL_WHERE_INUSE = 0,  /* an allocated chunk in an arena */
    GL_WHERE_MMAPPED,    /* an allocated chunk with its own mmap */
    GL_WHERE_TCACHE,
    GL_WHERE_FASTBIN,
    GL_WHERE_UNSORTED,
    GL_WHERE_SMALLBIN,
    GL_WHERE_LARGEBIN,
    GL_WHERE_TOP,        /* the top chunk of an arena */
    GL_WHERE_FREE_OTHER, /* free, but in no list we walked (reported as a problem) */
    GL_WHERE_INTERNAL,   /* a thread's tcache_perthread_struct: malloc's own */
    GL_WHERE_COUNT
};

/* One chunk found by the contiguous walk. */
struct gl_chunk {
    uint64_t addr;  /* header */
    uint64_t size;  /* chunksize(), flags stripped */
    uint16_t arena;
    uint8_t where;  /* GL_WHERE_INUSE until a list claims it */
    uint8_t flags;  /* CH_* */
};
#define CH_NEXT_INUSE 0x1 /* the following header has PREV_INUSE set */
#define CH_NEXT_UNKNOWN 0x2 /* the following header was corrupt: state unknown, assume used */
#define CH_CLAIMED 0x4    /* a free list (or top) holds it */

struct gl_arena {
    uint64_t addr, top, top_size;
    uint64_t system_mem;
    uint64_t heap_bytes;  /* Σ of its heaps' sizes as we walked them */
    uint64_t free_bytes;  /* top + bins + fastbins */
    int top_ok;
};

struct walk {
    struct heap_ctx *c;
    const struct gl_layout *L;
    const struct gl_where *w;
    struct gl_chunk *ch; /* a mapping of its own (walker.c), sorted by address once the arenas are walked */
    size_t n, cap;
    size_t ch_bytes;     /* the mapping's length */
    size_t ch_gone;      /* bytes at its start given back once reported (report_chunks) */
    struct gl_arena ar[MAX_ARENAS];
    unsigned nar;
    uint64_t heaps[MAX_HEAPS * 4]; /* [h, h+HEAP_MAX) of non-main heaps, for the mmap scan */
    size_t nheaps;
    uint64_t overhead, lost;
    uint64_t tcache_bytes;         /* Σ chunk sizes in tcaches (used, to mallinfo) */
    uint64_t tcaches[256];         /* tcache_perthread_struct user addresses found */
    int safe_linking;              /* glibc >= 2.32 mangles tcache/fastbin links */
    unsigned ntcaches;
    int oom;
};

/* walker.c: the chunk array, sorted by address once the heaps are walked */
struct gl_chunk *gl_add_chunk(struct walk *W, uint64_t addr, uint64_t size, unsigned arena);
struct gl_chunk *gl_find_chunk(struct walk *W, uint64_t addr);
/* a where value in words, for problems ("a fastbin") */
extern const char *const gl_where_name[GL_WHERE_COUNT];

/* arenas.c: the arenas (from main_arena's ring and from the heaps), then
 * each one's heaps into the chunk array */
void gl_find_arenas(struct walk *W);
void gl_walk_main_arena(struct walk *W);
void gl_walk_other_arena(struct walk *W, unsigned ai);

/* freelists.c: the lists, against the sorted array; gl_claim marks the
 * chunk at addr as held by a list (where), NULL and a problem if it is no
 * chunk of the walk or already claimed */
struct gl_chunk *gl_claim(struct walk *W, uint64_t addr, int where, int arena, uint64_t want_size, const char *list,
                          uint64_t from);
void gl_walk_fastbins(struct walk *W, unsigned ai);
void gl_walk_bins(struct walk *W, unsigned ai);
void gl_find_tcaches(struct walk *W);
void gl_walk_tcaches(struct walk *W);

/* mmapped.c: the mmapped chunks, reported as they are found */
void gl_walk_mmapped(struct walk *W, uint64_t *count, uint64_t *bytes, uint64_t *slack);

/* advice.c: what `heapsnap rss` says of this allocator (heap/advice.h) */
extern const struct heap_advisor glibc_advisor;

#endif
