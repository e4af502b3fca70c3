/*
 * typed.c — a process whose heap holds blocks of known C types, written
 * down so that tests/t4000-types.sh can check type inference and
 * t4200-show.sh can compare `heapsnap show` with gdb's print.
 *
 *   typed REPORT
 *
 * The heap: a doubly linked list of struct list_node from g_list; a hash
 * table (g_table, a global struct) whose bucket array holds `sess_t *`
 * chains of struct session; each session has a heap name string and a
 * void * payload; a binary tree of struct tree from g_tree, each node with
 * an array of struct item; an array of struct item from a global pointer;
 * blocks reachable only through void * (g_payloads, session payloads) or a
 * union (g_any); and an interior pointer (g_middle) into an item array.
 * Every block is calloc'd so no stray word looks like a pointer.
 *
 * REPORT gets, in this order:
 *   pid N
 *   block 0xADDR TYPE COUNT    a block reachable through typed pointers,
 *                              TYPE as heapsnap names types (may hold
 *                              spaces), COUNT by heapsnap's count rule
 *   untyped 0xADDR             a block only void * or a union reaches
 *   session 0xADDR             a struct session with every kind of field
 *   ready
 * and then it blocks until killed.  Nothing allocates after the report
 * starts.
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

enum color { RED, GREEN = 5, BLUE };

struct point {
    int x, y;
};

struct session {
    uint64_t id;
    char user[16];
    enum color color;
    struct point pos;
    int scores[4];
    struct point path[2];
    unsigned flags : 3;
    unsigned active : 1;
    bool ok;
    char grade;
    double weight;
    struct session *next;   /* the hash chain */
    char *name;             /* a heap string: typed as char[usable size] */
    void *payload;          /* void *: its block stays untyped */
    int (*handler)(int);
};

typedef struct session sess_t;

struct table {
    size_t nbuckets;
    sess_t **buckets;       /* calloc'd array of sess_t * */
};

struct list_node {
    long value;
    struct list_node *next;
    struct list_node *prev;
};

struct item {
    double weight;
    char tag[8];
    long qty;
};

struct tree {
    struct tree *left, *right;
    long key;
    struct item *items;     /* an array of 3 */
};

union any {
    struct list_node *node;
    long number;
};

struct list_node *g_list;
struct table g_table;
struct tree *g_tree;
struct item *g_items;       /* an array of 6 */
void *g_payloads[3];
union any g_any;
char *g_middle;             /* points inside g_items: no claim */
sess_t *g_current;          /* the same session the table holds */

#define NLIST    5
#define NBUCKETS 7
#define NSESS    9
#define NTREE    7

static int handle_it(int x)
{
    return x + 1;
}

static void block(void *p, const char *type, size_t count)
{
    report_line("block %p %s %zu\n", p, type, count);
}

static struct tree *build_tree(long lo, long hi)
{
    if (lo > hi)
        return NULL;
    long mid = (lo + hi) / 2;
    struct tree *t = calloc(1, sizeof *t);
    t->key = mid;
    t->items = calloc(3, sizeof *t->items);
    for (int i = 0; i < 3; i++) {
        t->items[i].weight = (double)mid + i * 0.5;
        snprintf(t->items[i].tag, sizeof t->items[i].tag, "t%d-%d", (int)(mid % 100), i);
        t->items[i].qty = mid * 10 + i;
    }
    t->left = build_tree(lo, mid - 1);
    t->right = build_tree(mid + 1, hi);
    block(t, "struct tree", 1);
    block(t->items, "struct item", 3);
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: typed REPORT\n");
        return 2;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    report_line("pid %d\n", (int)getpid());

    /* the list */
    struct list_node *prev = NULL;
    for (int i = 0; i < NLIST; i++) {
        struct list_node *n = calloc(1, sizeof *n);
        n->value = 100 + i;
        n->prev = prev;
        if (prev)
            prev->next = n;
        else
            g_list = n;
        prev = n;
        block(n, "struct list_node", 1);
    }

    /* the hash table */
    g_table.nbuckets = NBUCKETS;
    g_table.buckets = calloc(NBUCKETS, sizeof *g_table.buckets);
    block(g_table.buckets, "sess_t *", malloc_usable_size(g_table.buckets) / sizeof(sess_t *));
    for (int i = 0; i < NSESS; i++) {
        sess_t *s = calloc(1, sizeof *s);
        s->id = 1000 + (uint64_t)i;
        snprintf(s->user, sizeof s->user, "user%d", i);
        s->color = i % 3 == 0 ? RED : i % 3 == 1 ? GREEN : BLUE;
        s->pos.x = i;
        s->pos.y = -i;
        for (int k = 0; k < 4; k++)
            s->scores[k] = i * 10 + k;
        s->path[0] = (struct point){i, i + 1};
        s->path[1] = (struct point){-1, 7};
        s->flags = (unsigned)i & 7;
        s->active = i & 1;
        s->ok = i % 2 == 0;
        s->grade = (char)('A' + i);
        s->weight = 1.5 + i * 0.25;
        s->name = calloc(1, 20 + (size_t)i * 3);
        snprintf(s->name, 20 + (size_t)i * 3, "session-%d", i);
        s->payload = calloc(1, 40);      /* void *: untyped */
        memcpy(s->payload, "opaque payload", 15);
        s->handler = handle_it;
        size_t b = (size_t)i % NBUCKETS;
        s->next = g_table.buckets[b];
        g_table.buckets[b] = s;
        block(s, "struct session", 1);
        block(s->name, "char", malloc_usable_size(s->name));
        report_line("untyped %p\n", s->payload);
        if (i == 4)
            g_current = s;
    }

    g_tree = build_tree(1, NTREE);

    g_items = calloc(6, sizeof *g_items);
    for (int i = 0; i < 6; i++)
        g_items[i].qty = i;
    block(g_items, "struct item", 6);
    g_middle = (char *)g_items + 40;

    for (int i = 0; i < 3; i++) {
        g_payloads[i] = calloc(1, 64 + (size_t)i * 16);
        report_line("untyped %p\n", g_payloads[i]);
    }
    g_any.node = calloc(1, sizeof(struct list_node)); /* only a union reaches it */
    report_line("untyped %p\n", (void *)g_any.node);

    report_line("session %p\n", (void *)g_current);
    report_line("ready\n");
    if (report_flush(fd))
        return 1;
    for (;;)
        pause();
}
