/*
 * report.h — `heapsnap report`'s HTML page: one self-contained file that a
 * browser opens from disk with no network.  cmd_report.c gathers the
 * figures (the same functions, and so the same numbers, as top, leaks,
 * rss, goroutines and diff with --json) into one JSON document; page.c
 * writes it into the page with the page's script and styles, and
 * d3-hierarchy (its treemap layout; ISC licence, installed from npm at
 * build time and embedded by assets.c) so that the page needs nothing else.
 */
#ifndef HEAPSNAP_REPORT_REPORT_H
#define HEAPSNAP_REPORT_REPORT_H

#include <stddef.h>
#include <stdio.h>

/* The page's first bytes: how a later run knows a file is a report it wrote. */
#define REPORT_MAGIC "<!DOCTYPE html>\n<!-- heapsnap report -->\n"

/* Write the page with the JSON document data (len bytes) to f; 0 or -1. */
int report_page(FILE *f, const char *title, const char *data, size_t len);
/* 1 if head (n bytes) starts a page report_page wrote. */
int report_is_ours(const unsigned char *head, size_t n);

/* assets.c: the embedded d3-hierarchy and its licence, NUL-terminated. */
extern const char report_d3_hierarchy[];
extern const char report_d3_license[];

#endif
