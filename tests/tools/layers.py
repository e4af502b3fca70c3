#!/usr/bin/env python3
"""tests/tools/layers.py — check that every #include "..." in analyze/,
format/ and capture/ respects the layer table of docs/architecture.md: a
file may include its own folder's headers and those of lower layers only.

    tests/tools/layers.py [REPO]

Inside a layer of subfolders ("heap/**": one folder per allocator), each
subfolder is private: a file may include its own subfolder's headers and
the layer's top folder's (the interface), never a sibling's, and nothing
outside the layer may include a subfolder's header.  That is what lets a
new allocator touch only its folder and one table.

Prints one line per violation ("FILE: includes HEADER, layer N over M"),
per file in no listed folder, and per header that resolves nowhere; exits 1
if there is any, 0 otherwise.  An include is resolved as the compiler
does with the Makefile's -I flags: beside the including file first, then
under analyze/, format/ and capture/.
"""
import os
import re
import sys

repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
repo = os.path.abspath(repo)
doc = os.path.join(repo, "docs", "architecture.md")

rows = []
inside = False
for line in open(doc, encoding="utf-8"):
    if "<!-- layers: begin -->" in line:
        inside = True
    elif "<!-- layers: end -->" in line:
        inside = False
    elif inside:
        m = re.match(r"\|\s*(\d+)\s*\|\s*`([^`]+)`\s*\|", line)
        if m:
            rows.append((int(m.group(1)), m.group(2)))
if not rows:
    print(f"{doc}: no layer table between <!-- layers: begin --> and <!-- layers: end -->")
    sys.exit(1)

# folder -> layer; "x/**" covers x and everything under it
exact = {}
deep = {}
for layer, folder in rows:
    if folder.endswith("/**"):
        deep[folder[:-3]] = layer
    else:
        exact[folder] = layer


def unit_of(path):
    """The listed folder a file belongs to: (name, layer) or None."""
    d = os.path.dirname(path)
    best = None
    for f, layer in deep.items():
        if d == f or d.startswith(f + "/"):
            if best is None or len(f) > len(best[0]):
                best = (f + "/**", layer)
    if best:
        return best
    if d in exact:
        return (d, exact[d])
    return None


INCLUDE_DIRS = ["analyze", "format", "capture"]
files = []
for top in ("analyze", "format", "capture"):
    for d, _, fs in os.walk(os.path.join(repo, top)):
        for f in fs:
            if f.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(d, f), repo))

bad = 0
for f in sorted(files):
    u = unit_of(f)
    if u is None:
        print(f"{f}: in no folder of the layer table (docs/architecture.md)")
        bad += 1
        continue
    for n, line in enumerate(open(os.path.join(repo, f), encoding="utf-8", errors="replace"), 1):
        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if not m:
            continue
        inc = m.group(1)
        cands = [os.path.join(os.path.dirname(f), inc)] + [os.path.join(i, inc) for i in INCLUDE_DIRS]
        target = next((c for c in cands if os.path.isfile(os.path.join(repo, c))), None)
        if target is None:
            # a header generated into build/ or the -include'd api.h: not ours to place
            if os.path.isfile(os.path.join(repo, "build", inc)):
                continue
            print(f"{f}:{n}: includes \"{inc}\", which is nowhere in the tree")
            bad += 1
            continue
        target = os.path.normpath(target)
        t = unit_of(target)
        if t is None:
            print(f"{f}:{n}: includes {target}, in no folder of the layer table")
            bad += 1
        elif t[0] != u[0] and t[1] >= u[1]:
            print(f"{f}:{n}: includes {target}: {t[0]} is layer {t[1]}, not below {u[0]} (layer {u[1]})")
            bad += 1
        elif t[0].endswith("/**") and os.path.dirname(target) != t[0][:-3] and \
                os.path.dirname(target) != os.path.dirname(f):
            print(f"{f}:{n}: includes {target}, private to {os.path.dirname(target)}/ "
                  f"(only its own files and {t[0][:-3]}/'s interface may be shared)")
            bad += 1
sys.exit(1 if bad else 0)
