/*
 * page.c — the report's HTML (report.h): a fixed page whose script draws
 * everything from the JSON document embedded in it, so that the figures
 * in the page are exactly the figures heapsnap computed (the script only
 * formats and lays out; d3-hierarchy's squarified treemap places the
 * rectangles).  The page loads nothing: a Content-Security-Policy of
 * default-src 'none' lets a browser prove it.
 *
 * Inside <script> the only sequence that matters is "</": the data's are
 * written "<\/" (the same string to JSON), and d3-hierarchy has none.
 */
#include "report/report.h"

#include <string.h>

static const char head[] =
    REPORT_MAGIC
    "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline';"
    " style-src 'unsafe-inline'\">\n"
    "<title>";

static const char style[] =
    "</title>\n<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}\n"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}\n"
    "table{border-collapse:collapse;margin:4px 0}td,th{padding:2px 10px;text-align:left;vertical-align:top}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even){background:#f6f6f6}\n"
    "#crumbs span{cursor:pointer;color:#06c}#crumbs span:last-child{color:#222;cursor:default}\n"
    "svg text{font-size:11px;pointer-events:none}.node rect{stroke:#fff;cursor:pointer}\n"
    ".muted{color:#777}.swatch{display:inline-block;width:10px;height:10px;margin-right:6px}\n"
    "</style></head><body>\n"
    "<h1>heapsnap report</h1><p id=\"subtitle\" class=\"muted\"></p>\n"
    "<section id=\"summary\"><h2>Summary</h2><table id=\"summary-table\"></table></section>\n"
    "<section id=\"rss\"><h2>Resident memory (RSS) by kind of mapping</h2>"
    "<svg id=\"rss-chart\" width=\"960\" height=\"36\"></svg><table id=\"rss-table\"></table></section>\n"
    "<section id=\"tree\"><h2>Retained memory: root &rarr; &hellip; &rarr; type</h2>"
    "<p class=\"muted\">Each rectangle is what one retention path keeps alive (the dominator tree: a root,"
    " the objects that alone hold the rest, their types and fields). Click to zoom in; the path above"
    " zooms out.</p><div id=\"crumbs\"></div>"
    "<svg id=\"treemap\" width=\"960\" height=\"520\"></svg></section>\n"
    "<section id=\"retainers\"><h2>Top retainers</h2></section>\n"
    "<section id=\"leaks\"><h2>Leak groups (allocated, reachable from no root)</h2></section>\n"
    "<section id=\"goroutines\"><h2>Goroutine groups</h2></section>\n"
    "<section id=\"diff\"><h2>Growth by retainer</h2></section>\n"
    "<script id=\"data\" type=\"application/json\">";

static const char app[] =
    "\"use strict\";\n"
    "const D = JSON.parse(document.getElementById('data').textContent);\n"
    "const SVG = 'http://www.w3.org/2000/svg';\n"
    "function el(tag, attrs, text, ns) {\n"
    "  const e = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);\n"
    "  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);\n"
    "  if (text !== undefined && text !== null) e.textContent = String(text);\n"
    "  return e;\n"
    "}\n"
    "function human(n) {\n"
    "  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0, v = n;\n"
    "  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }\n"
    "  return i ? v.toFixed(1) + ' ' + u[i] : n + ' B';\n"
    "}\n"
    "/* a table: cols [{k, label, bytes, num}], rows of objects; numbers keep their exact value in data-value */\n"
    "function table(parent, id, cols, rows, empty) {\n"
    "  if (!rows || !rows.length) { parent.appendChild(el('p', {id: id, class: 'muted'}, empty || 'none')); return; }\n"
    "  const t = el('table', {id: id}), h = el('tr');\n"
    "  for (const c of cols) h.appendChild(el('th', c.num || c.bytes ? {class: 'n'} : {}, c.label));\n"
    "  t.appendChild(h);\n"
    "  for (const r of rows) {\n"
    "    const tr = el('tr');\n"
    "    for (const c of cols) {\n"
    "      const v = r[c.k];\n"
    "      if (c.num || c.bytes) {\n"
    "        const td = el('td', {class: 'n', 'data-k': c.k, 'data-value': v}, c.bytes ? human(v) : v);\n"
    "        if (c.bytes) td.title = v + ' bytes';\n"
    "        tr.appendChild(td);\n"
    "      } else tr.appendChild(el('td', {'data-k': c.k}, v));\n"
    "    }\n"
    "    t.appendChild(tr);\n"
    "  }\n"
    "  parent.appendChild(t);\n"
    "}\n"
    "const S = D.summary;\n"
    "document.getElementById('subtitle').textContent = D.file + ': ' + (S.exe || '?') + ', pid ' + S.pid +\n"
    "  ', ' + (S.allocator || 'unknown') + ' heap, captured ' + (S.capture_time || '?');\n"
    "(function summary() {\n"
    "  const t = document.getElementById('summary-table');\n"
    "  const rows = [['used_count', 'used objects', 0], ['used_bytes', 'used bytes', 1],\n"
    "    ['reachable_count', 'reachable objects', 0], ['reachable_bytes', 'reachable bytes', 1],\n"
    "    ['leaked_count', 'leaked objects', 0], ['leaked_bytes', 'leaked bytes', 1], ['rss', 'resident (RSS)', 1]];\n"
    "  for (const [k, label, b] of rows) {\n"
    "    if (S[k] === undefined) continue;\n"
    "    const tr = el('tr', {id: 'sum-' + k});\n"
    "    tr.appendChild(el('td', {}, label));\n"
    "    tr.appendChild(el('td', {class: 'n', 'data-value': S[k]}, b ? human(S[k]) + ' (' + S[k] + ')' : S[k]));\n"
    "    t.appendChild(tr);\n"
    "  }\n"
    "})();\n"
    "const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7',\n"
    "  '#9c755f', '#bab0ac'];\n"
    "(function rss() {\n"
    "  const svg = document.getElementById('rss-chart'), kinds = (D.rss && D.rss.kinds) || [];\n"
    "  const total = kinds.reduce((a, k) => a + k.rss, 0), W = 960;\n"
    "  let x = 0;\n"
    "  kinds.forEach((k, i) => {\n"
    "    if (!k.rss) return;\n"
    "    const w = total ? k.rss / total * W : 0;\n"
    "    const r = el('rect', {x: x, y: 4, width: Math.max(w, 1), height: 28, fill: COLORS[i % COLORS.length],\n"
    "      class: 'rss-kind', 'data-kind': k.kind, 'data-rss': k.rss}, null, true);\n"
    "    r.appendChild(el('title', {}, k.kind + ': ' + human(k.rss), true));\n"
    "    svg.appendChild(r); x += w;\n"
    "  });\n"
    "  const rows = kinds.map((k, i) => Object.assign({sw: ''}, k));\n"
    "  table(document.getElementById('rss'), 'rss-kinds', [{k: 'kind', label: 'kind'}, {k: 'mappings', label: 'mappings', num: 1},\n"
    "    {k: 'rss', label: 'RSS', bytes: 1}], rows, 'no page figures in this snapshot');\n"
    "  document.querySelectorAll('#rss-kinds tr').forEach((tr, i) => {\n"
    "    if (i) tr.firstChild.prepend(el('span', {class: 'swatch', style: 'background:' + COLORS[(i - 1) % COLORS.length]}));\n"
    "  });\n"
    "})();\n"
    "(function treemap() {\n"
    "  const svg = document.getElementById('treemap'), crumbs = document.getElementById('crumbs');\n"
    "  const W = +svg.getAttribute('width'), H = +svg.getAttribute('height');\n"
    "  const path = [D.tree];\n"
    "  function draw() {\n"
    "    const top = path[path.length - 1];\n"
    "    while (svg.firstChild) svg.removeChild(svg.firstChild);\n"
    "    crumbs.textContent = '';\n"
    "    path.forEach((n, i) => {\n"
    "      if (i) crumbs.appendChild(document.createTextNode(' \\u2192 '));\n"
    "      const s = el('span', {'data-depth': i}, n.name);\n"
    "      s.onclick = () => { path.length = i + 1; draw(); };\n"
    "      crumbs.appendChild(s);\n"
    "    });\n"
    "    const root = d3.hierarchy(top).sum(d => d.self || 0).sort((a, b) => b.value - a.value);\n"
    "    svg.setAttribute('data-root', top.name); svg.setAttribute('data-root-value', root.value);\n"
    "    d3.treemap().tile(d3.treemapSquarify).size([W, H]).paddingTop(d => d.depth < 2 ? 16 : 0)\n"
    "      .paddingInner(1).round(true)(root);\n"
    "    for (const d of root.descendants()) {\n"
    "      if (d.depth === 0 || d.depth > 2) continue;\n"
    "      const w = d.x1 - d.x0, h = d.y1 - d.y0;\n"
    "      if (w < 1 || h < 1) continue;\n"
    "      const top1 = d.depth === 1 ? d : d.parent;\n"
    "      const ci = root.children.indexOf(top1);\n"
    "      const g = el('g', {class: 'node', 'data-name': d.data.name, 'data-value': d.value, 'data-depth': d.depth,\n"
    "        'data-children': d.children ? d.children.length : 0}, null, true);\n"
    "      const r = el('rect', {x: d.x0, y: d.y0, width: w, height: h, fill: COLORS[ci % COLORS.length],\n"
    "        'fill-opacity': d.depth === 1 ? 0.55 : 0.9}, null, true);\n"
    "      g.appendChild(r);\n"
    "      g.appendChild(el('title', {}, d.ancestors().reverse().slice(1).map(a => a.data.name).join(' \\u2192 ') +\n"
    "        '\\n' + human(d.value) + ' (' + d.value + ' bytes)', true));\n"
    "      if (w > 40 && h > 12) {\n"
    "        const label = d.data.name + ' ' + human(d.value);\n"
    "        g.appendChild(el('text', {x: d.x0 + 3, y: d.y0 + 12}, label.length * 6 > w ? label.slice(0, Math.max(1, w / 6 - 1)) + '\\u2026' : label, true));\n"
    "      }\n"
    "      /* a click zooms into the rectangle, or into its parent when it is a leaf */\n"
    "      const into = d.children ? d : d.depth === 2 ? d.parent : null;\n"
    "      if (into) g.onclick = (ev) => { ev.stopPropagation(); path.push(...into.ancestors().reverse().slice(1).map(a => a.data)); draw(); };\n"
    "      svg.appendChild(g);\n"
    "    }\n"
    "  }\n"
    "  draw();\n"
    "})();\n"
    "(function retainers() {\n"
    "  const sec = document.getElementById('retainers'), R = D.retainers;\n"
    "  sec.appendChild(el('h3', {}, 'Objects'));\n"
    "  table(sec, 'ret-objects', [{k: 'name', label: 'object'}, {k: 'retained_size', label: 'retained', bytes: 1},\n"
    "    {k: 'retained_count', label: 'objects', num: 1}], R.objects);\n"
    "  sec.appendChild(el('h3', {}, 'Types'));\n"
    "  table(sec, 'ret-types', [{k: 'type', label: 'type'}, {k: 'count', label: 'count', num: 1},\n"
    "    {k: 'shallow_size', label: 'shallow', bytes: 1}, {k: 'retained_size', label: 'retained', bytes: 1}], R.types);\n"
    "  sec.appendChild(el('h3', {}, 'Roots'));\n"
    "  table(sec, 'ret-roots', [{k: 'name', label: 'root'}, {k: 'retained_size', label: 'retained', bytes: 1},\n"
    "    {k: 'retained_count', label: 'objects', num: 1}], R.roots);\n"
    "})();\n"
    "table(document.getElementById('leaks'), 'leak-groups', [{k: 'type', label: 'type'}, {k: 'count', label: 'count', num: 1},\n"
    "  {k: 'bytes', label: 'bytes', bytes: 1}], D.leaks.groups, 'no leaked objects');\n"
    "table(document.getElementById('goroutines'), 'goroutine-groups', [{k: 'count', label: 'goroutines', num: 1},\n"
    "  {k: 'start_func', label: 'started at'}, {k: 'status', label: 'status'}, {k: 'wait_reason', label: 'waiting for'},\n"
    "  {k: 'created_by', label: 'created by'}], D.goroutines, D.goroutines ? 'no goroutines' : 'not a Go program');\n"
    "(function diff() {\n"
    "  const sec = document.getElementById('diff');\n"
    "  if (!D.diff) { sec.appendChild(el('p', {id: 'diff-none', class: 'muted'},\n"
    "    'Give a second snapshot (heapsnap report OLD NEW) to see what grew, by what holds it.')); return; }\n"
    "  sec.appendChild(el('p', {id: 'diff-summary', 'data-new-count': D.diff.new_count, 'data-new-bytes': D.diff.new_bytes},\n"
    "    D.diff.from + ' \\u2192 ' + D.diff.to + ': ' + D.diff.new_count + ' new objects (' + human(D.diff.new_bytes) + '), ' +\n"
    "    D.diff.deleted_count + ' deleted (' + human(D.diff.deleted_bytes) + ')'));\n"
    "  table(sec, 'diff-growth', [{k: 'retainer', label: 'held by'}, {k: 'type', label: 'type'},\n"
    "    {k: 'count', label: 'new objects', num: 1}, {k: 'bytes', label: 'bytes', bytes: 1}], D.diff.growth, 'no retained growth');\n"
    "})();\n"
    "</script>\n</body></html>\n";

int report_page(FILE *f, const char *title, const char *data, size_t len)
{
    fputs(head, f);
    for (const char *t = title; *t; t++) { /* the title as text */
        if (*t == '<')
            fputs("&lt;", f);
        else if (*t == '&')
            fputs("&amp;", f);
        else
            fputc(*t, f);
    }
    fputs(style, f);
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '<' && i + 1 < len && data[i + 1] == '/')
            fputs("<\\", f);
        else
            fputc(data[i], f);
    }
    /* the licence in an HTML comment ("--" may not appear in one), the
     * library, then the page's own script, which uses it */
    fputs("</script>\n<!-- d3-hierarchy (https://github.com/d3/d3-hierarchy), its licence:\n", f);
    for (const char *l = report_d3_license; *l; l++)
        fputc(l[0] == '-' && l[1] == '-' ? '=' : l[0], f);
    fputs("-->\n<script>\n", f);
    fputs(report_d3_hierarchy, f);
    fputs("\n</script>\n<script>\n", f);
    fputs(app, f);
    return ferror(f) ? -1 : 0;
}

int report_is_ours(const unsigned char *head_bytes, size_t n)
{
    size_t m = strlen(REPORT_MAGIC);
    return n >= m && !memcmp(head_bytes, REPORT_MAGIC, m);
}
