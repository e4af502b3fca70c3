/*
 * lineedit.h — the interactive prompt of `heapsnap sql`: line editing and a
 * history kept across sessions, from libedit (Debian's libedit, the BSD
 * editline library, through its readline-compatible interface), as the
 * sqlite3 shell has.  Used only when standard input is a terminal.
 *
 * The history is $HEAPSNAP_HISTORY, else ~/.heapsnap_history, mode 0600
 * (queries can hold addresses and strings from a process's memory); it is
 * not written when HEAPSNAP_HISTORY is set to the empty string.
 */
#ifndef HEAPSNAP_LINEEDIT_H
#define HEAPSNAP_LINEEDIT_H

#include <stddef.h>
#include <sys/types.h>

/* Load the history. */
void lineedit_begin(void);
/* Read a line with prompt (on stderr); into *line (malloc'd, grown as
 * needed, like getline) with its '\n'.  Its length, or -1 at end of input. */
ssize_t lineedit_read(const char *prompt, char **line, size_t *cap);
/* Save the history. */
void lineedit_end(void);

#endif
