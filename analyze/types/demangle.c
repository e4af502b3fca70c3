/*
 * demangle.c — class names out of C++ vtable and typeinfo symbols, by the
 * Itanium C++ ABI's mangling rules (section 5.1), without libstdc++.
 *
 * A vtable is `_ZTV <type>` and a typeinfo object `_ZTI <type>`, where the
 * type of a class is its <name>.  That is all inference needs (infer.c
 * names an object's dynamic class after the vtable its first word points
 * into), so only the part of the grammar class names use is here:
 *
 *   <name>        ::= N <prefix-component>+ E        nested: ns::Outer::Inner
 *                   | St <unqualified-name>           std::name
 *                   | <substitution> | <source-name> [<template-args>]
 *   <source-name> ::= <decimal length> <identifier> [B <source-name>]*  (ABI tags)
 *   <template-args> ::= I <arg>+ E                    Foo<int, Bar*>
 *   <substitution>  ::= S_ | S <seq-id> _ | Sa Sb Ss Si So Sd  (std:: abbreviations)
 *   <arg>         ::= <builtin> | D<c> builtin | P/R/K <type> | <name> | L <type> <number> E
 *
 * Substitutions (S_, S0_, ...) refer back to earlier prefixes and template
 * names, numbered as the ABI numbers them.  Anything else (local names,
 * function types, expressions) makes the demangler give up with -1; the
 * caller then treats the symbol as not a class it knows.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "types/types.h"

#define MAX_SUBS 64
#define MAX_OUT  1024
#define MAX_NEST 16

struct dm {
    const char *p, *end;
    char subs[MAX_SUBS][MAX_OUT];
    int nsubs;
    int depth;
};

static int add_sub(struct dm *m, const char *s)
{
    if (m->nsubs >= MAX_SUBS)
        return -1;
    snprintf(m->subs[m->nsubs++], MAX_OUT, "%s", s);
    return 0;
}

static int cat(char *out, const char *s)
{
    size_t a = strlen(out), b = strlen(s);
    if (a + b + 1 > MAX_OUT)
        return -1;
    memcpy(out + a, s, b + 1);
    return 0;
}

static int source_name(struct dm *m, char *out)
{
    size_t len = 0;
    if (m->p >= m->end || !isdigit((unsigned char)*m->p))
        return -1;
    while (m->p < m->end && isdigit((unsigned char)*m->p) && len < 100000)
        len = len * 10 + (size_t)(*m->p++ - '0');
    if (len == 0 || len >= MAX_OUT || (size_t)(m->end - m->p) < len)
        return -1;
    char id[MAX_OUT];
    memcpy(id, m->p, len);
    id[len] = 0;
    m->p += len;
    /* GCC names an anonymous namespace _GLOBAL__N_1 */
    if (cat(out, !strncmp(id, "_GLOBAL__N", 10) ? "(anonymous namespace)" : id))
        return -1;
    /* ABI tags: B <source-name>, shown as [abi:cxx11] */
    while (m->end - m->p > 1 && *m->p == 'B' && isdigit((unsigned char)m->p[1])) {
        m->p++;
        char tag[MAX_OUT] = "";
        if (source_name(m, tag) || cat(out, "[abi:") || cat(out, tag) || cat(out, "]"))
            return -1;
    }
    return 0;
}

/* D<c>: the builtins with two-letter codes */
static const char *builtin_d(char c)
{
    switch (c) {
    case 'i': return "char32_t";
    case 's': return "char16_t";
    case 'u': return "char8_t";
    case 'n': return "decltype(nullptr)";
    case 'd': return "decimal64";
    case 'e': return "decimal128";
    case 'f': return "decimal32";
    default: return NULL;
    }
}

static const char *builtin(char c)
{
    switch (c) {
    case 'v': return "void";
    case 'w': return "wchar_t";
    case 'b': return "bool";
    case 'c': return "char";
    case 'a': return "signed char";
    case 'h': return "unsigned char";
    case 's': return "short";
    case 't': return "unsigned short";
    case 'i': return "int";
    case 'j': return "unsigned int";
    case 'l': return "long";
    case 'm': return "unsigned long";
    case 'x': return "long long";
    case 'y': return "unsigned long long";
    case 'n': return "__int128";
    case 'o': return "unsigned __int128";
    case 'f': return "float";
    case 'd': return "double";
    case 'e': return "long double";
    default: return NULL;
    }
}

static int name(struct dm *m, char *out);

/* S_, S<base36>_, or a std:: abbreviation; appended to out. */
static int substitution(struct dm *m, char *out)
{
    if (m->end - m->p < 2 || m->p[0] != 'S')
        return -1;
    char c = m->p[1];
    const char *abbr = NULL;
    switch (c) {
    case 'a': abbr = "std::allocator"; break;
    case 'b': abbr = "std::basic_string"; break;
    /* spelt out as the class is named (in DWARF, and by c++filt) */
    case 's': abbr = "std::basic_string<char, std::char_traits<char>, std::allocator<char> >"; break;
    case 'i': abbr = "std::basic_istream<char, std::char_traits<char> >"; break;
    case 'o': abbr = "std::basic_ostream<char, std::char_traits<char> >"; break;
    case 'd': abbr = "std::basic_iostream<char, std::char_traits<char> >"; break;
    default: break;
    }
    if (abbr) {
        m->p += 2;
        return cat(out, abbr);
    }
    m->p++;
    unsigned long idx = 0;
    if (*m->p != '_') {
        unsigned long v = 0;
        int n = 0;
        while (m->p < m->end && *m->p != '_' && n++ < 8) {
            char d = *m->p++;
            if (isdigit((unsigned char)d))
                v = v * 36 + (unsigned long)(d - '0');
            else if (d >= 'A' && d <= 'Z')
                v = v * 36 + (unsigned long)(d - 'A' + 10);
            else
                return -1;
        }
        idx = v + 1;
    }
    if (m->p >= m->end || *m->p != '_' || idx >= (unsigned long)m->nsubs)
        return -1;
    m->p++;
    return cat(out, m->subs[idx]);
}

static int type(struct dm *m, char *out)
{
    if (m->p >= m->end || ++m->depth > MAX_NEST)
        return -1;
    int rc;
    const char *b = builtin(*m->p);
    if (b) {
        m->p++;
        rc = cat(out, b);
    } else if (*m->p == 'D' && m->end - m->p > 1 && (b = builtin_d(m->p[1]))) {
        m->p += 2;
        rc = cat(out, b);
    } else if (*m->p == 'P' || *m->p == 'R' || *m->p == 'K') {
        char q = *m->p++;
        char inner[MAX_OUT] = "";
        rc = type(m, inner);
        if (!rc)
            rc = cat(inner, q == 'P' ? "*" : q == 'R' ? "&" : " const");
        if (!rc)
            rc = add_sub(m, inner);
        if (!rc)
            rc = cat(out, inner);
    } else {
        rc = name(m, out);
    }
    m->depth--;
    return rc;
}

/* I <arg>+ E, appended to out as "<a, b>" */
static int template_args(struct dm *m, char *out)
{
    m->p++; /* I */
    if (cat(out, "<"))
        return -1;
    for (int n = 0; m->p < m->end && *m->p != 'E'; n++) {
        if (n && cat(out, ", "))
            return -1;
        if (*m->p == 'L') { /* a literal: L <type> <value> E */
            m->p++;
            char t[MAX_OUT] = "";
            if (type(m, t))
                return -1;
            char v[64];
            size_t k = 0;
            if (m->p < m->end && *m->p == 'n') {
                v[k++] = '-';
                m->p++;
            }
            while (m->p < m->end && isdigit((unsigned char)*m->p) && k < sizeof v - 1)
                v[k++] = *m->p++;
            v[k] = 0;
            if (m->p >= m->end || *m->p != 'E')
                return -1;
            m->p++;
            if (!strcmp(t, "bool"))
                snprintf(v, sizeof v, "%s", v[0] == '1' ? "true" : "false");
            if (cat(out, v))
                return -1;
        } else if (type(m, out)) {
            return -1;
        }
    }
    if (m->p >= m->end)
        return -1;
    m->p++; /* E */
    size_t len = strlen(out);
    return cat(out, len && out[len - 1] == '>' ? " >" : ">");
}

/* Template arguments, if any follow, appended to buf and made a substitution candidate. */
static int opt_template_args(struct dm *m, char *buf)
{
    if (m->p >= m->end || *m->p != 'I')
        return 0;
    return template_args(m, buf) || add_sub(m, buf);
}

static int name(struct dm *m, char *out)
{
    if (m->p >= m->end || ++m->depth > MAX_NEST)
        return -1;
    char buf[MAX_OUT] = "";
    int rc = 0;
    if (*m->p == 'N') {
        m->p++;
        while (m->p < m->end && (*m->p == 'K' || *m->p == 'V' || *m->p == 'r'))
            m->p++;
        for (int n = 0; !rc && m->p < m->end && *m->p != 'E'; n++) {
            if (*m->p == 'I') {
                rc = template_args(m, buf);
            } else {
                if (n && *m->p != 'S' && cat(buf, "::"))
                    return -1;
                if (*m->p == 'S' && m->p + 1 < m->end && m->p[1] == 't') {
                    m->p += 2;
                    rc = cat(buf, "std::") || source_name(m, buf);
                } else if (*m->p == 'S') {
                    if (n)
                        rc = cat(buf, "::");
                    if (!rc)
                        rc = substitution(m, buf);
                    m->depth--;
                    continue; /* a substitution is not a new candidate */
                } else {
                    rc = source_name(m, buf);
                }
            }
            if (!rc)
                rc = add_sub(m, buf);
        }
        if (m->p >= m->end)
            rc = -1;
        else
            m->p++; /* E */
    } else if (*m->p == 'S' && m->p + 1 < m->end && m->p[1] == 't') {
        m->p += 2;
        rc = cat(buf, "std::") || source_name(m, buf) || add_sub(m, buf) || opt_template_args(m, buf);
    } else if (*m->p == 'S') {
        rc = substitution(m, buf) || opt_template_args(m, buf);
    } else {
        rc = source_name(m, buf) || add_sub(m, buf) || opt_template_args(m, buf);
    }
    m->depth--;
    return rc ? -1 : cat(out, buf);
}

int ty_demangle_class(const char *sym, const char **kind, char *out, size_t outlen)
{
    if (!sym || strncmp(sym, "_ZT", 3) || (sym[3] != 'V' && sym[3] != 'I'))
        return -1;
    static __thread struct dm m; /* 64 KiB of substitutions: not on the stack */
    memset(&m, 0, sizeof m);
    m.p = sym + 4;
    m.end = sym + strlen(sym);
    char buf[MAX_OUT] = "";
    if (name(&m, buf) || m.p != m.end || !buf[0])
        return -1;
    if (kind)
        *kind = sym[3] == 'V' ? "vtable" : "typeinfo";
    snprintf(out, outlen, "%s", buf);
    return 0;
}
