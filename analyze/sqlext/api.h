/*
 * api.h — forced into every file of bin/heapsnap-sqlite.so (-include, see
 * the Makefile and extension.c): sqlite3ext.h turns each sqlite3_* call
 * into a call through the loading SQLite's API table, sqlite3_api, which
 * extension.c defines and fills.  Not used by bin/heapsnap.
 */
#ifndef HEAPSNAP_SQLEXT_API_H
#define HEAPSNAP_SQLEXT_API_H
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#endif
