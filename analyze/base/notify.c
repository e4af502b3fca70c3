/*
 * notify.c — the sink of notify.h: one pointer, set by the program, and the
 * formatting of a message before it goes there.  The progress line's
 * bookkeeping is progress.c's.
 */
#include "base/notify.h"

#include <stdarg.h>
#include <stdio.h>

static const struct notify_sink *sink;

void notify_install(const struct notify_sink *s)
{
    sink = s;
}

const struct notify_sink *notify_current_sink(void)
{
    return sink;
}

static void say(void (*to)(const char *), const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    to(msg);
}

void notify_warn(const char *fmt, ...)
{
    if (!sink || !sink->warn)
        return;
    va_list ap;
    va_start(ap, fmt);
    say(sink->warn, fmt, ap);
    va_end(ap);
}

void notify_note(const char *fmt, ...)
{
    if (!sink || !sink->note)
        return;
    va_list ap;
    va_start(ap, fmt);
    say(sink->note, fmt, ap);
    va_end(ap);
}
