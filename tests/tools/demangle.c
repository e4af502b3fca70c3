/*
 * demangle.c — the class-name demangler (analyze/types/demangle.c) alone:
 * reads one symbol a line on stdin and prints, a line each, the class name
 * heapsnap gives it, or "-" where it gives none.  t4110 compares the output
 * with c++filt's on libstdc++'s vtable and typeinfo symbols.
 */
#include <stdio.h>
#include <string.h>

#include "types/types.h"

int main(void)
{
    char line[4096], cls[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        const char *kind = NULL;
        if (ty_demangle_class(line, &kind, cls, sizeof cls) == 0)
            printf("%s for %s\n", kind, cls);
        else
            printf("-\n");
    }
    return 0;
}
