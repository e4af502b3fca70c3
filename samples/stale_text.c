/*
 * stale_text.c — lost cycles whose only "references" are stale words in
 * objects typed as character arrays, for tests/t5200-bytes-not-pointers.sh.
 *
 *   stale_text REPORT
 *
 * Two lost two-node cycles, each kept "alive" by a word left behind text:
 *   1. a chunk holding a pointer to node a1 is freed, and malloc hands the
 *      same chunk back for g_text, a `char *` global: a short string is
 *      written at its start, the stale word stays behind it.  Typed from
 *      the global, the object is a char [n].
 *   2. the same through the field `uint8_t *payload` of a struct msg that
 *      the global g_msg points to: a uint8_t [n], typed from a field.
 * And one object that must still be scanned although it is typed char [n]:
 *   3. node c is pointed to by the `char *` global g_view and by the
 *      `struct node *` field of node n (itself g_list's).  The global's claim
 *      wins (a root is stronger evidence than a field), but a struct node
 *      was claimed too, so c may hold pointers: c->peer is the only pointer
 *      to node d, which is reachable.
 *
 * REPORT: "text", "payload", "c" (the objects), "stale1", "stale2" (where
 * the stale words are), "a1", "b1", "a2", "b2", "d" (the nodes), "reused1",
 * "reused2" (1 when malloc gave back the chunk that held the stale word),
 * then "ready"; then the process blocks until killed.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "scrub.h"

struct node {
    struct node *peer;
    long pad[5];
};

struct msg {
    int kind;
    uint8_t *payload;
};

#define TEXT_SIZE    64  /* an 80-byte chunk: no node (64) or msg (32) shares its bin */
#define TEXT_STALE   48
#define PAYLOAD_SIZE 100 /* a 112-byte chunk */
#define PAYLOAD_STALE 80

char *g_text;
struct msg *g_msg;
struct node *g_list;
char *g_view;

/* the addresses, kept masked so that no word of this process holds them */
#define MASK ((uintptr_t)0x5a5a5a5a5a5a5a5a)
static volatile uintptr_t masked[7]; /* a1 b1 a2 b2 d, and the two freed chunks */

static struct node *new_node(void)
{
    struct node *n = malloc(sizeof *n);
    if (!n)
        abort();
    memset(n, 0, sizeof *n);
    return n;
}

/* A lost cycle a<->b, and a chunk of `size` bytes that held a pointer to a
 * at `stale` before it was freed and given back by the next malloc. */
__attribute__((noinline)) static void *reuse_over_cycle(size_t size, size_t stale, int k)
{
    char *x = malloc(size);
    struct node *a = new_node(), *b = new_node();
    if (!x)
        abort();
    a->peer = b;
    b->peer = a;
    memset(x, 0, size);
    memcpy(x + stale, &a, sizeof a); /* the stale word */
    masked[2 * k] = (uintptr_t)a ^ MASK;
    masked[2 * k + 1] = (uintptr_t)b ^ MASK;
    masked[5 + k] = (uintptr_t)x ^ MASK;
    free(x);
    a = b = NULL;
    x = NULL;
    return malloc(size);
}

__attribute__((noinline)) static void build(void)
{
    g_text = reuse_over_cycle(TEXT_SIZE, TEXT_STALE, 0);
    strcpy(g_text, "some text"); /* the old bytes stay behind it */
    if (!(g_msg = malloc(sizeof *g_msg)))
        abort();
    g_msg->kind = 1;
    g_msg->payload = reuse_over_cycle(PAYLOAD_SIZE, PAYLOAD_STALE, 1);
    memcpy(g_msg->payload, "\x01\x02\x03\x04", 4);

    struct node *n = new_node(), *c = new_node(), *d = new_node();
    n->peer = c;
    c->peer = d;
    g_list = n;
    g_view = (char *)c;
    masked[4] = (uintptr_t)d ^ MASK;
    n = c = d = NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    build();
    scrub();
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 1;
    uintptr_t text = (uintptr_t)g_text, payload = (uintptr_t)g_msg->payload;
    report_line("pid %d\n", (int)getpid());
    report_line("text 0x%lx\npayload 0x%lx\nc 0x%lx\n", (unsigned long)text, (unsigned long)payload,
                (unsigned long)(uintptr_t)g_view);
    report_line("stale1 0x%lx\nstale2 0x%lx\n", (unsigned long)(text + TEXT_STALE),
                (unsigned long)(payload + PAYLOAD_STALE));
    report_line("reused1 %d\nreused2 %d\n", text == (masked[5] ^ MASK), payload == (masked[6] ^ MASK));
    report_line("a1 0x%lx\nb1 0x%lx\na2 0x%lx\nb2 0x%lx\nd 0x%lx\nready\n", (unsigned long)(masked[0] ^ MASK),
                (unsigned long)(masked[1] ^ MASK), (unsigned long)(masked[2] ^ MASK),
                (unsigned long)(masked[3] ^ MASK), (unsigned long)(masked[4] ^ MASK));
    if (report_flush(fd))
        return 1;
    close(fd);
    text = payload = 0;
    scrub();
    for (;;)
        pause();
}
