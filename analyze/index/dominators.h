/*
 * dominators.h — the dominator tree of the heap, worked out while the
 * indexer loads the references, so that the first leaks or top reads it
 * back instead of computing it (dominators.c has how).
 *
 * In the order index.c calls them:
 *   idx_tree_new()    before the scan: which objects are used;
 *   idx_tree_ref()    for every reference the scan makes, in its order
 *                     (refsort_tee() hands them over, on the scan's thread);
 *   idx_tree_start()  once the scan is over, while the object table is
 *                     still there: the tree is built on a thread of its own;
 *   idx_tree_store()  once the references are in: the analysis table and
 *                     its analysis_done row, in the caller's transaction.
 * Anything that keeps the tree from being made (no memory, no thread) only
 * leaves it to the first analysis, which computes it as before: store then
 * returns 1 and says why.
 */
#ifndef HEAPSNAP_INDEX_DOMINATORS_H
#define HEAPSNAP_INDEX_DOMINATORS_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "model/objects.h"

struct idx_tree;

/* NULL only without memory for the handle itself. */
struct idx_tree *idx_tree_new(const struct objtab *t, size_t nroots);
/* A reference from src (a root id < 0 or an object id) to object dst; u
 * is the struct idx_tree (refsort_tee's shape).  One the tree cannot take
 * ends the tree, not the index. */
void idx_tree_ref(void *u, int64_t src, int64_t dst);
/* 0 started, -1 not (idx_tree_store says why); t as given to idx_tree_new. */
int idx_tree_start(struct idx_tree *x, const struct objtab *t);
/* Wait for the tree and store it: 0 stored, 1 not made (why says why),
 * -1 the database failed (err). */
int idx_tree_store(struct idx_tree *x, sqlite3 *db, struct db_bulk *bulk, int progress, char *why, size_t whylen, char *err,
                   size_t errlen);
void idx_tree_free(struct idx_tree *x);

#endif
