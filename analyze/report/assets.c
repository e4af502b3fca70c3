/*
 * assets.c — third-party files the report page carries inside it:
 * d3-hierarchy's minified build and its licence (ISC), installed by the
 * Makefile from npm at a pinned version into build/npm/ and assembled into
 * the binary here (.incbin, paths from the top of the tree where make
 * runs), each followed by a NUL.
 */
#include "report/report.h"

__asm__(".section .rodata\n"
        ".global report_d3_hierarchy\n"
        ".type report_d3_hierarchy, @object\n"
        "report_d3_hierarchy:\n"
        ".incbin \"build/npm/node_modules/d3-hierarchy/dist/d3-hierarchy.min.js\"\n"
        ".byte 0\n"
        ".global report_d3_license\n"
        ".type report_d3_license, @object\n"
        "report_d3_license:\n"
        ".incbin \"build/npm/node_modules/d3-hierarchy/LICENSE\"\n"
        ".byte 0\n"
        ".previous\n");
