/*
 * gomaps.c — Go's Swiss maps (Go 1.24+, internal/runtime/maps), where one
 * pointer's DWARF type is true only half of the time.
 *
 * Go's linker writes each map type's DWARF as map<K,V> {used, seed, dirPtr,
 * dirLen, ...}, with table<K,V> {..., groups {data *group, lengthMask}} and
 * the group type (noalg.map.group[K]V: a control word, then 8 key/value
 * slots), so the typing pass follows map -> directory -> tables -> groups
 * -> keys and values as it follows any typed pointer.  But dirPtr, typed
 * **table<K,V> (the directory: dirLen table pointers), points straight at
 * one group when the map is small (dirLen == 0: at most 8 entries, no
 * table at all; maps/map.go).  Typed as the DWARF says, that group would
 * become an array of table pointers and its keys and values "tables".
 *
 * So a map struct is recognised by that structure — fields dirPtr, a
 * pointer to a pointer to a struct whose groups.data points at the group
 * type, and dirLen — and flagged TYF_GOMAP; for such a struct the pass asks
 * ty_gomap_dir what dirPtr points at: the group type when dirLen is 0, the
 * DWARF's table pointers otherwise.  No name is compared.
 */
#include <string.h>

#include "types/types.h"

/* The field named name of struct id (resolved), or NULL. */
static const struct ty_field *field(const struct tytab *t, uint32_t id, const char *name)
{
    uint32_t r = ty_resolve(t, id);
    if (!r || (t->v[r].kind != TY_STRUCT && t->v[r].kind != TY_CLASS))
        return NULL;
    const struct ty *y = &t->v[r];
    for (uint32_t i = 0; i < y->n; i++)
        if (!strcmp(ty_str(t, t->f[y->first + i].name), name))
            return &t->f[y->first + i];
    return NULL;
}

/* The type a pointer type points at (resolved), or 0. */
static uint32_t pointee(const struct tytab *t, uint32_t id)
{
    uint32_t r = ty_resolve(t, id);
    return r && t->v[r].kind == TY_POINTER ? t->v[r].target : 0;
}

/* The group type of map struct id, or 0 if id is no Swiss map. */
static uint32_t group_of(const struct tytab *t, uint32_t id)
{
    const struct ty_field *dir = field(t, id, "dirPtr"), *len = field(t, id, "dirLen");
    if (!dir || !len || len->bit_size)
        return 0;
    uint32_t table = pointee(t, pointee(t, dir->type));
    const struct ty_field *groups = table ? field(t, table, "groups") : NULL;
    const struct ty_field *data = groups ? field(t, groups->type, "data") : NULL;
    return data ? pointee(t, data->type) : 0;
}

void ty_mark_gomaps(struct tytab *t)
{
    for (size_t i = 1; i < t->n; i++)
        if (t->v[i].kind == TY_STRUCT && group_of(t, (uint32_t)i))
            t->v[i].flags |= TYF_GOMAP;
}

int ty_gomap_dir(const struct tytab *t, uint32_t id, const uint8_t *mem, uint64_t avail, uint64_t *dir_off,
                 uint32_t *type)
{
    const struct ty_field *dir = field(t, id, "dirPtr"), *len = field(t, id, "dirLen");
    if (!dir || !len || dir->offset + 8 > avail || len->offset + 8 > avail)
        return 0;
    uint64_t n;
    memcpy(&n, mem + len->offset, 8);
    *dir_off = dir->offset;
    *type = n == 0 ? group_of(t, id) : pointee(t, dir->type);
    return 1;
}
