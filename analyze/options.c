/*
 * options.c — the one option parser (see options.h).
 *
 * Not getopt_long: its argv permutation, its optind state shared between
 * calls and its messages ("unrecognized option") are the three things the
 * commands had each worked around; this is a table walk instead, with one
 * set of messages.
 */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct option_spec *lookup(const struct option_spec *t, const char *a, size_t n)
{
    for (; t && t->id; t++)
        if ((!strncmp(t->name, a, n) && !t->name[n]) || (t->alias && !strncmp(t->alias, a, n) && !t->alias[n]))
            return t;
    return NULL;
}

int options_parse(int argc, char **argv, const char *help, const struct option_spec *spec,
                  const struct option_spec *more, option_fn on, void *u, const char **pos, int maxpos,
                  int *npos)
{
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return EXIT_OK;
        }
    }
    int opts = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts && !strcmp(a, "--")) {
            opts = 0;
            continue;
        }
        if (!opts || a[0] != '-' || !a[1] || (a[1] >= '0' && a[1] <= '9')) {
            if (*npos >= maxpos)
                return cli_usage_error("too many arguments ('%s')", a);
            pos[(*npos)++] = a;
            continue;
        }
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        const struct option_spec *o = lookup(more, a, n); /* a command's own first */
        if (!o)
            o = lookup(spec, a, n);
        if (!o)
            return cli_usage_error("unknown option '%.*s'", (int)n, a);
        const char *value = NULL;
        if (o->takes) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return cli_usage_error("%s takes %s", o->name, o->takes);
        } else if (eq) {
            return cli_usage_error("%s takes no value", o->name);
        }
        int rc = on(u, o->id, value);
        if (rc >= 0)
            return rc;
    }
    return -1;
}

int options_parse_file(int argc, char **argv, const char *help, const struct option_spec *spec, option_fn on,
                       void *u, const char *noun, const char *arg, const char **file)
{
    const char *pos[2];
    int npos;
    int rc = options_parse(argc, argv, help, spec, NULL, on, u, pos, 2, &npos);
    if (rc >= 0)
        return rc;
    if (npos == 0)
        return cli_usage_error("which %s? (%s is missing)", noun, arg);
    if (npos > 1)
        return cli_usage_error("one %s at a time ('%s' and '%s')", noun, pos[0], pos[1]);
    *file = pos[0];
    return -1;
}

int options_number(const char *value, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
