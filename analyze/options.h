/*
 * options.h — the one option parser of every heapsnap command.
 *
 * Each command lists its options in a table and gets them back, one call
 * per option, in the order given; the parser alone knows the conventions,
 * so that every command takes them the same way and fails the same way:
 *   - -h or --help anywhere before "--" prints the command's help, exit 0;
 *   - "--name value" and "--name=value" are the same; an option's short
 *     alias ("-o") takes its value as the next argument;
 *   - "--" ends the options; "-" alone is an argument (standard input), and
 *     so is "-" and a digit (a negative number: a root's id);
 *   - an unknown option, an option without its value, or one argument too
 *     many is a usage error that names it and points at --help (exit 2).
 * session.c builds the analysis commands' shared options on it.
 */
#ifndef HEAPSNAP_OPTIONS_H
#define HEAPSNAP_OPTIONS_H

struct option_spec {
    const char *name;  /* "--limit" */
    const char *alias; /* "-o", or NULL */
    const char *takes; /* NULL: a flag; else what the value is, for the error: "a positive number" */
    int id;            /* handed to the handler; 0 ends the table */
};

/* Called for each option found: value is NULL for a flag.  Returns -1 to
 * go on, or an exit code to stop with (after printing why: cli_usage_error). */
typedef int (*option_fn)(void *u, int id, const char *value);

/*
 * Parse argv[1..argc) by spec (and by more, a second table, when not
 * NULL: the caller's own options beside shared ones, looked up first, so
 * that a command may take a shared option its own way).  The positional
 * arguments go to pos, at most maxpos of them, their count to *npos.
 * Returns -1 when parsing went through, else the exit code: EXIT_OK
 * after printing help, EXIT_USAGE after a usage error, or what a handler
 * returned.
 */
int options_parse(int argc, char **argv, const char *help, const struct option_spec *spec,
                  const struct option_spec *more, option_fn on, void *u, const char **pos, int maxpos,
                  int *npos);

/* options_parse for a command of one file: into *file, else the usage
 * error "which NOUN? (ARG is missing)" or "one NOUN at a time ('a' and
 * 'b')" (noun "snapshot", arg "FILE"). */
int options_parse_file(int argc, char **argv, const char *help, const struct option_spec *spec, option_fn on,
                       void *u, const char *noun, const char *arg, const char **file);

/* value as a number in [min, max] into *out: 0, else -1 */
int options_number(const char *value, long min, long max, long *out);

#endif
