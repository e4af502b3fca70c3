# groups.py — how heapsnap names the group an object is counted under
# (analysis/show.c, hg_group_name), for the analysis tests to compute what
# leaks, top and diff must print: the type's name, "T [n]" / "T *[n]" for
# an array of n (as the objects_typed view says it), "[SIZE bytes]" for an
# object without a type.  Imported by tests/t6000, t6100, t6200 through
# sys.path (their python3 -c scripts add tests/tools).
import sqlite3


def array_name(t, n):
    """T, or T [n] / T *[n] for an array of n elements."""
    return t if not n or n == 1 else t + ('' if t.endswith('*') else ' ') + '[%d]' % n


def group_name(db, type_id, size, count):
    """The group of an object with this type_id (or None), usable size and type_count."""
    typed = db.execute("SELECT count(*) FROM pragma_table_info('types') WHERE name = 'name'").fetchone()[0]
    if type_id is None or not typed:
        return '[%d bytes]' % size
    r = db.execute("SELECT name FROM types WHERE id = ?", (type_id,)).fetchone()
    return array_name(r[0] if r and r[0] else 'type#%d' % type_id, count)


def tname(dbf, addr):
    """The group of the object at addr in database file dbf."""
    db = sqlite3.connect(dbf)
    tid, size, n = db.execute("SELECT type_id, size, type_count FROM objects WHERE addr = ?", (addr,)).fetchone()
    return group_name(db, tid, size, n)
