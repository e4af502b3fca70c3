/*
 * lineedit.c — see lineedit.h.  libedit's readline() is the whole of the
 * editing; this file keeps the history file's name and mode, and hands
 * lines back in getline()'s shape so that the shell's loop reads a
 * terminal and a pipe the same way.
 */
#include "lineedit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

static char history_path[4096];

static const char *history_file(void)
{
    const char *env = getenv("HEAPSNAP_HISTORY"), *home = getenv("HOME");
    if (env)
        return env[0] ? env : NULL;
    if (!home || !home[0])
        return NULL;
    snprintf(history_path, sizeof history_path, "%s/.heapsnap_history", home);
    return history_path;
}

void lineedit_begin(void)
{
    const char *f = history_file();
    rl_readline_name = "heapsnap";
    rl_outstream = stderr; /* stdout is for results */
    using_history();
    stifle_history(1000);
    if (f)
        read_history(f);
}

ssize_t lineedit_read(const char *prompt, char **line, size_t *cap)
{
    char *s = readline(prompt);
    if (!s)
        return -1;
    size_t n = strlen(s);
    if (n && s[strspn(s, " \t")])
        add_history(s);
    if (!*line || *cap < n + 2) {
        char *b = realloc(*line, n + 2);
        if (!b) {
            free(s);
            return -1;
        }
        *line = b;
        *cap = n + 2;
    }
    memcpy(*line, s, n);
    (*line)[n] = '\n';
    (*line)[n + 1] = 0;
    free(s);
    return (ssize_t)n + 1;
}

void lineedit_end(void)
{
    const char *f = history_file();
    if (!f)
        return;
    /* created 0600 before libedit writes it, and kept so if it existed */
    int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    fchmod(fd, 0600);
    close(fd);
    write_history(f);
}
