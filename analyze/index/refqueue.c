/*
 * refqueue.c — the scanner thread and its bounded batch queue (see
 * refqueue.h).  A ring of REFQ_BATCHES buffers: the scanner fills the
 * buffer at 'tail', the loader drains the one at 'head'; one mutex and two
 * condition variables, taken once per batch, never per row.
 */
#include "index/refqueue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct refq {
    const struct hs_snapshot *s;
    const struct objtab *t;
    const struct rootset *rs;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t not_full, not_empty;
    struct ref_row *buf[REFQ_BATCHES];
    size_t len[REFQ_BATCHES];
    size_t head, count;     /* ready batches: head .. head + count - 1 (mod) */
    size_t slot, fill;      /* the scanner's own: the batch it fills, rows in it */
    int done, stop, released;
    atomic_uint_fast64_t scanned;
};

/* Hand the batch being filled to the loader; wait for a free one. */
static int publish(struct refq *q)
{
    pthread_mutex_lock(&q->mu);
    q->len[q->slot] = q->fill;
    q->count++;
    q->slot = (q->slot + 1) % REFQ_BATCHES;
    q->fill = 0;
    pthread_cond_signal(&q->not_empty);
    /* the next slot is free once fewer than all batches are ready or held
     * by the loader (head .. head + count - 1) */
    while (q->count >= REFQ_BATCHES && !q->stop)
        pthread_cond_wait(&q->not_full, &q->mu);
    int stop = q->stop;
    pthread_mutex_unlock(&q->mu);
    return stop;
}

static int on_ref(void *u, int64_t src, uint64_t offset, int64_t dst, int interior)
{
    struct refq *q = u;
    struct ref_row *r = &q->buf[q->slot][q->fill++]; /* ours alone until published */
    r->src = src;
    r->dst = dst;
    r->offset = offset | (interior ? REF_ROW_INTERIOR : 0);
    if (q->fill == REFQ_BATCH)
        return publish(q);
    return 0;
}

static void on_progress(void *u, uint64_t done, uint64_t total)
{
    (void)total;
    struct refq *q = u;
    atomic_store(&q->scanned, done);
}

static void *scanner(void *arg)
{
    struct refq *q = arg;
    struct ref_sink sink = {.user = q, .ref = on_ref, .progress = on_progress};
    int stopped = refs_scan(q->s, q->t, q->rs, &sink);
    if (!stopped)
        publish(q); /* the last, partial batch */
    pthread_mutex_lock(&q->mu);
    q->done = 1;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

struct refq *refq_start(const struct hs_snapshot *s, const struct objtab *t, const struct rootset *rs)
{
    struct refq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->s = s;
    q->t = t;
    q->rs = rs;
    for (int i = 0; i < REFQ_BATCHES; i++)
        if (!(q->buf[i] = malloc(REFQ_BATCH * sizeof *q->buf[i])))
            goto fail;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->not_full, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    if (pthread_create(&q->thread, NULL, scanner, q)) {
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->not_full);
        pthread_cond_destroy(&q->not_empty);
        goto fail;
    }
    return q;
fail:
    for (int i = 0; i < REFQ_BATCHES; i++)
        free(q->buf[i]);
    free(q);
    return NULL;
}

size_t refq_next(struct refq *q, const struct ref_row **rows)
{
    pthread_mutex_lock(&q->mu);
    if (q->released) { /* give back the batch handed out last time */
        q->head = (q->head + 1) % REFQ_BATCHES;
        q->count--;
        q->released = 0;
        pthread_cond_signal(&q->not_full);
    }
    while (q->count == 0 && !q->done)
        pthread_cond_wait(&q->not_empty, &q->mu);
    size_t n = 0;
    if (q->count > 0) {
        *rows = q->buf[q->head];
        n = q->len[q->head];
        q->released = 1;
    }
    pthread_mutex_unlock(&q->mu);
    return n;
}

uint64_t refq_progress(struct refq *q)
{
    return atomic_load(&q->scanned);
}

void refq_finish(struct refq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    for (int i = 0; i < REFQ_BATCHES; i++)
        free(q->buf[i]);
    free(q);
}
