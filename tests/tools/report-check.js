// report-check.js — opens a heapsnap report page in Debian's chromium through
// playwright-core (tests/t7200-report.sh), the way a user opens it: from
// disk, headless, with background networking off.  It fails on any console
// error, page error or request that is not the file itself; prints the
// figures the page shows as one JSON document on stdout (for the test to
// compare with heapsnap's --json); clicks a treemap node and records what
// the zoom did; and saves a screenshot.
//
//   node report-check.js PAGE.html SCREENSHOT.png USER_DATA_DIR
const path = require('path');
const { chromium } = require(path.join(process.env.NPM_DIR, 'node_modules', 'playwright-core'));

(async () => {
  const [page_file, shot, profile] = process.argv.slice(2);
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run'],
    viewport: { width: 1100, height: 900 },
  });
  const errors = [];
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  page.on('pageerror', e => errors.push('pageerror: ' + e.message));
  page.on('request', r => { if (!r.url().startsWith('file://')) errors.push('request: ' + r.url()); });
  await page.goto('file://' + path.resolve(page_file), { waitUntil: 'load' });
  const figures = await page.evaluate(() => {
    const num = e => Number(e.getAttribute('data-value'));
    const rows = id => [...document.querySelectorAll('#' + id + ' tr')].slice(1).map(tr => {
      const o = {};
      for (const td of tr.querySelectorAll('td')) {
        const k = td.getAttribute('data-k');
        o[k] = td.hasAttribute('data-value') ? Number(td.getAttribute('data-value')) : td.textContent;
      }
      return o;
    });
    const summary = {};
    for (const tr of document.querySelectorAll('#summary-table tr'))
      summary[tr.id.replace(/^sum-/, '')] = num(tr.querySelector('td[data-value]'));
    const svg = document.getElementById('treemap');
    return {
      summary,
      rss: [...document.querySelectorAll('#rss-chart rect.rss-kind')].map(r => ({ kind: r.getAttribute('data-kind'),
                                                                              rss: Number(r.getAttribute('data-rss')) })),
      leak_groups: rows('leak-groups'),
      goroutine_groups: rows('goroutine-groups'),
      ret_types: rows('ret-types'),
      ret_roots: rows('ret-roots'),
      growth: rows('diff-growth'),
      treemap: { root: svg.getAttribute('data-root'), value: Number(svg.getAttribute('data-root-value')),
                 nodes: svg.querySelectorAll('g.node').length },
    };
  });
  // zoom: the largest first-level rectangle that has children of its own
  const target = await page.evaluate(() => {
    const gs = [...document.querySelectorAll('#treemap g.node[data-depth="1"]')]
      .filter(g => Number(g.getAttribute('data-children')) > 0);
    gs.sort((a, b) => Number(b.getAttribute('data-value')) - Number(a.getAttribute('data-value')));
    return gs.length ? { name: gs[0].getAttribute('data-name'), value: Number(gs[0].getAttribute('data-value')) } : null;
  });
  if (target) {
    // on its label strip, above its children
    const i = await page.evaluate(t => [...document.querySelectorAll('#treemap g.node[data-depth="1"]')]
      .findIndex(g => g.getAttribute('data-name') === t), target.name);
    await page.locator('#treemap g.node[data-depth="1"]').nth(i).click({ position: { x: 4, y: 6 } });
    figures.zoom = {
      clicked: target,
      root: await page.getAttribute('#treemap', 'data-root'),
      value: Number(await page.getAttribute('#treemap', 'data-root-value')),
      crumbs: await page.locator('#crumbs span').count(),
    };
  }
  await page.screenshot({ path: shot, fullPage: true });
  figures.errors = errors;
  process.stdout.write(JSON.stringify(figures, null, 1) + '\n');
  await ctx.close();
  process.exit(errors.length ? 1 : 0);
})().catch(e => { console.error(e); process.exit(2); });
