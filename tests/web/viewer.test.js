/*
 * viewer.test.js: browser tests of heapsnap's web viewer, run by run.sh
 * against `heapsnap serve` on a snapshot of examples/leaky_service.py
 * (20,000 LeakedRequest objects held by module __main__'s REQUEST_LOG).
 *
 *   node viewer.test.js http://127.0.0.1:PORT/?token=TOKEN
 *
 * Each test's browser context first opens that address, as a user does,
 * which sets the token's cookie and lands on the address without it
 * (`base`); the first test checks just that.
 * Drives Debian's chromium (CHROMIUM, default /usr/bin/chromium) with
 * playwright-core, headless, and prints TAP.  Every test fails on a
 * console error, an uncaught exception or a failed request on its page.
 * Expected values come from the server's JSON (/api/...), fetched beside
 * the page, so the tests check what the page shows against the data.
 */
'use strict';

const { chromium } = require('playwright-core');

const tokenUrl = process.argv[2];
const base = tokenUrl ? new URL('/', tokenUrl).href : undefined;
const tests = [];

function test(name, fn) {
    tests.push({ name, fn });
}

function assert(cond, message) {
    if (!cond)
        throw new Error('assertion failed: ' + message);
}

/*
 * Does a size cell ("512 B", "1.5 KiB") stand for `bytes`: the unit the
 * value is at least 1 and under 1024 of, and the value within its one
 * decimal's rounding?  Read back rather than formatted again, so that the
 * check does not restate the page's own formatting.
 */
function sizeShows(text, bytes) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    const m = /^(\d+(?:\.\d)?) ([A-Za-z]+)$/.exec(text);
    const k = m ? units.indexOf(m[2]) : -1;
    if (k < 0)
        return false;
    if (k === 0)
        return m[1] === String(bytes);
    const unit = Math.pow(1024, k), value = bytes / unit;
    return value >= 1 && (value < 1024 || k === units.length - 1) &&
           Math.abs(Number(m[1]) - value) <= 0.05 + 1e-9;
}

async function json(page, path) {
    const r = await page.request.get(new URL(path, base).href);
    assert(r.ok(), path + ' answered ' + r.status());
    return r.json();
}

/* The id of the object page shown, from the address bar. */
function objectId(page) {
    const m = /\/object\/(\d+)$/.exec(new URL(page.url()).pathname);
    return m ? Number(m[1]) : null;
}

const LEAK = '__main__.LeakedRequest';

test('the summary lists LeakedRequest among the top types', async (page) => {
    await page.goto(base);
    const top = await json(page, '/api/top?n=20&by=size');
    const rank = top.types.findIndex((t) => t.type === LEAK);
    assert(rank >= 0, 'the API lists LeakedRequest in the top 20');
    const link = page.locator('section', { hasText: 'Biggest types' })
        .locator('tbody tr').nth(rank).locator('a');
    await link.waitFor();
    assert(await link.textContent() === LEAK, 'row ' + rank + ' is LeakedRequest');
    const row = await page.locator('section', { hasText: 'Biggest types' })
        .locator('tbody tr').nth(rank).locator('td').allTextContents();
    assert(row[0] === '20,000', 'its count is 20,000, not ' + row[0]);
    assert(sizeShows(row[1], top.types[rank].bytes), 'its size matches the API');
    /* The suspects name the log's dict as the accumulation point. */
    const suspects = page.locator('ol.suspects');
    await suspects.waitFor();
    assert((await suspects.textContent()).includes('.REQUEST_LOG → dict'),
           'a suspect accumulates at REQUEST_LOG');
});

test('the summary reconciles RSS as the API does', async (page) => {
    await page.goto(base);
    const info = await json(page, '/api/info');
    const m = info.memory;
    assert(m && m.rss > 0, 'the snapshot recorded RSS');
    assert(m.objects + m.pymalloc_free + m.malloc_free + m.file_backed + m.unexplained === m.rss,
           'the parts add up to RSS');
    const box = page.locator('section', { hasText: 'Memory' }).locator('dl.facts');
    await box.waitFor();
    const terms = await box.locator('dt').allTextContents();
    const values = await box.locator('dd').allTextContents();
    const value = (term) => values[terms.indexOf(term)].split(' (')[0];
    assert(sizeShows(value('RSS'), m.rss), 'RSS shows ' + m.rss + ': ' + value('RSS'));
    assert(sizeShows(value('Python objects'), m.objects), 'objects match the API');
    /* Unknown where the allocator's own figures are (ASan replaces
     * malloc: make check-asan), as the API says. */
    assert(values[terms.indexOf('of which')].includes(
               m.allocated_outside_objects === null ? 'unknown' : 'allocated but in no object'),
           'the unexplained part is broken down as the API says');
    assert(sizeShows(value('unexplained'), m.unexplained) || m.unexplained <= 0,
           'unexplained matches the API: ' + value('unexplained'));
    assert((await page.locator('section', { hasText: 'Memory' }).locator('.error').count())
           === (m.warning ? 1 : 0), 'a warning shows exactly when the API has one');
});

test('clicking LeakedRequest shows its REQUEST_LOG path group', async (page) => {
    await page.goto(base);
    await page.locator('section', { hasText: 'Biggest types' })
        .getByRole('link', { name: LEAK, exact: true }).click();
    await page.waitForURL('**/type/' + encodeURIComponent(LEAK));
    const shape = page.locator('ol.groups pre.shape').first();
    await shape.waitFor();
    const text = await shape.textContent();
    assert(text === 'module __main__ .REQUEST_LOG → dict [*] → LeakedRequest',
           'the first group is the REQUEST_LOG one, not: ' + text);
    const first = await page.locator('ol.groups > li').first().textContent();
    assert(first.startsWith('20,000 objects'), 'it holds all 20,000: ' + first);
    assert(await page.locator('h1').textContent() === LEAK, 'the heading names the type');
});

test('an object page shows its path with retained sizes', async (page) => {
    const why = await json(page, '/api/why?type=' + encodeURIComponent(LEAK));
    const id = why.groups[0].example.id;
    await page.goto(new URL('/type/' + encodeURIComponent(LEAK), base).href);
    await page.locator('ol.groups a[href="/object/' + id + '"]').first().click();
    await page.waitForURL('**/object/' + id);
    const rows = page.locator('table.steps tbody tr');
    await rows.first().waitFor();
    const path = await json(page, '/api/why/' + id);
    const expected = [path.root.object].concat(path.path.map((s) => s.to));
    assert(await rows.count() === expected.length,
           'one row per object on the path (' + expected.length + ')');
    for (let i = 0; i < expected.length; i++) {
        const cells = await rows.nth(i).locator('td').allTextContents();
        assert(sizeShows(cells[0], expected[i].retained_size),
               'row ' + i + ' retains ' + expected[i].retained_size + ' B, not ' + cells[0]);
        assert(cells[1].includes(expected[i].description),
               'row ' + i + ' names ' + expected[i].description);
    }
    assert((await rows.first().textContent()).includes('module __main__'), 'the path starts at the module');
    assert((await rows.nth(2).textContent()).includes("['REQUEST_LOG']"), 'through REQUEST_LOG');
    assert((await rows.last().textContent()).includes('LeakedRequest'), 'and ends at the object');
});

test('the inline picture links to other object pages', async (page) => {
    const why = await json(page, '/api/why?type=' + encodeURIComponent(LEAK));
    const id = why.groups[0].example.id;
    await page.goto(new URL('/object/' + id, base).href);
    await page.locator('#picture svg').waitFor();
    /* A node of the backrefs picture other than the object itself: its
     * referrer, the log's dict. */
    const target = await page.evaluate(() => {
        const XL = 'http://www.w3.org/1999/xlink';
        const here = location.pathname;
        const links = Array.from(document.querySelectorAll('#picture svg a'))
            .map((a) => a.getAttributeNS(XL, 'href'))
            .filter((h) => h && h.startsWith('/object/') && h !== here);
        return links.length ? links[0] : null;
    });
    assert(target, 'the picture links to another object');
    const handle = await page.evaluateHandle((t) => {
        const XL = 'http://www.w3.org/1999/xlink';
        return Array.from(document.querySelectorAll('#picture svg a'))
            .find((a) => a.getAttributeNS(XL, 'href') === t);
    }, target);
    await handle.asElement().click();
    await page.waitForURL('**' + target);
    const other = await json(page, '/api/object/' + objectId(page));
    await page.locator('h1', { hasText: other.description }).waitFor();
    assert(objectId(page) !== id, 'a different object page');
    /* Its own picture is drawn too. */
    await page.locator('#picture svg').waitFor();
    const back = await page.evaluate(() => document.querySelectorAll('#picture svg a').length);
    assert(back > 0, 'the new page has a linked picture');
});

test('the search box finds a type', async (page) => {
    await page.goto(base);
    await page.locator('#search-input').fill('leakedreq');
    const hit = page.locator('#search-results a', { hasText: LEAK });
    await hit.waitFor();
    await hit.click();
    await page.waitForURL('**/type/' + encodeURIComponent(LEAK));
    await page.locator('ol.groups pre.shape').first().waitFor();
    assert(await page.locator('#search-results').isHidden(), 'the results close');
});

test('the search box finds an object by address', async (page) => {
    const why = await json(page, '/api/why?type=' + encodeURIComponent(LEAK));
    const ex = why.groups[0].example;
    await page.goto(base);
    await page.locator('#search-input').fill(ex.address);
    await page.locator('#search-input').press('Enter');
    await page.waitForURL('**/object/' + ex.id);
    await page.locator('table.steps').waitFor();
});

test('the cycles page lists cycles with links', async (page) => {
    const d = await json(page, '/api/cycles?n=20');
    await page.goto(new URL('/cycles', base).href);
    await page.locator('h1', { hasText: 'Reference cycles' }).waitFor();
    const items = page.locator('ol.cycles > li');
    assert(await items.count() === d.cycles.length, 'one item per listed cycle');
    if (d.cycles.length) {
        const first = d.cycles[0];
        const link = items.first().locator('a').first();
        const href = await link.getAttribute('href');
        assert(href === '/object/' + (first.loop.length ? first.loop[0].from : first.first.id),
               'the first cycle links to its member: ' + href);
    }
    await page.getByRole('button', { name: 'with interpreter machinery' }).click();
    await page.locator('button.on', { hasText: 'with interpreter machinery' }).waitFor();
});

test('the advice page lists the findings the API gives, with their fixes', async (page) => {
    const d = await json(page, '/api/advise?n=20&min_bytes=65536');
    assert(d.findings.length > 0, 'the leaky service has a finding');
    await page.goto(new URL('/advice', base).href);
    await page.locator('h1', { hasText: 'Advice' }).waitFor();
    const items = page.locator('ol.advice > li');
    assert(await items.count() === d.findings.length, 'one item per finding');
    const first = d.findings[0];
    const fix = await items.first().locator('code.fix').textContent();
    assert(fix === first.fix, 'the first finding shows its fix: ' + fix);
    assert(sizeShows(await items.first().locator('.saving').textContent(), first.bytes_saved),
           'the first finding shows its saving');
    const href = await items.first().locator('a').first().getAttribute('href');
    assert(href === '/object/' + first.example.id, 'the example links to its object: ' + href);
    await items.first().locator('a').first().click();
    await page.waitForURL('**/object/' + first.example.id);
    await page.locator('table.steps').waitFor();
});

test('no console errors on any page or view', async (page) => {
    const why = await json(page, '/api/why?type=' + encodeURIComponent(LEAK));
    const id = why.groups[0].example.id;
    await page.goto(base);
    await page.locator('ol.suspects').waitFor();
    for (const by of ['count', 'retained', 'size']) {
        await page.getByRole('button', { name: 'by ' + by }).click();
        await page.locator('button.on', { hasText: 'by ' + by }).waitFor();
    }
    await page.goto(new URL('/object/' + id, base).href);
    await page.locator('#picture svg').waitFor();
    for (const kind of ['refs', 'why', 'backrefs']) {
        await page.locator('#picture').locator('xpath=..').locator('select').first().selectOption(kind);
        await page.locator('#picture svg').waitFor();
    }
    await page.goto(new URL('/type/' + encodeURIComponent('__main__.Session'), base).href);
    await page.locator('ol.groups').waitFor();
    await page.goto(new URL('/cycles', base).href);
    await page.locator('ol.cycles').waitFor();
    await page.goto(new URL('/advice', base).href);
    await page.locator('ol.advice').waitFor();
    await page.goBack();
    await page.locator('ol.cycles').waitFor();
    /* History: back to the type page. */
    await page.goBack();
    await page.locator('ol.groups').waitFor();
});

/* What the CLI printed about the same snapshots (run.sh). */
function cli(name) {
    const file = process.env[name];
    assert(file, name + ' is set (run.sh writes it)');
    return JSON.parse(require('fs').readFileSync(file, 'utf8'));
}

/* The heap map's blocks at the top level: id, retained size and box. */
async function mapBlocks(page) {
    await page.locator('.map .block[data-level="0"]').first().waitFor();
    return page.locator('.map .block[data-level="0"]').evaluateAll((blocks) => blocks.map((b) => {
        const r = b.getBoundingClientRect();
        return { id: Number(b.dataset.id), retained: Number(b.dataset.retained),
                 type: b.dataset.type, x: r.x, y: r.y, w: r.width, h: r.height };
    }));
}

test('the heap map sizes each block by what it retains, as the CLI says', async (page) => {
    await page.goto(new URL('/map', base).href);
    const blocks = await mapBlocks(page);
    const api = await json(page, '/api/map?depth=4&limit=30');
    const top = cli('HEAPSNAP_TOP_JSON');
    const box = await page.locator('#map').evaluate((m) => ({ w: m.clientWidth, h: m.clientHeight }));
    const area = box.w * box.h;
    assert(api.retained_size === top.reachable_bytes, 'the map covers the reachable heap');
    /* Every block is one of the API's children, at its retained size. */
    const want = new Map(api.children.map((c) => [c.id, c.retained_size]));
    assert(blocks.length >= 10, 'at least 10 top-level blocks, not ' + blocks.length);
    for (const b of blocks) {
        assert(want.get(b.id) === b.retained, 'block @' + b.id + ' retains ' + b.retained);
        const share = b.w * b.h / area, expected = b.retained / api.retained_size;
        assert(Math.abs(share - expected) < 0.004 + 0.02 * expected,
               'block @' + b.id + ' covers ' + share.toFixed(4) + ' of the map, not ' + expected.toFixed(4));
    }
    /* The biggest block is `top --objects`'s first object. */
    blocks.sort((a, b) => b.w * b.h - a.w * a.h);
    assert(blocks[0].id === top.objects[0].id && blocks[0].retained === top.objects[0].retained_size,
           'the biggest block is @' + top.objects[0].id + ', not @' + blocks[0].id);
    /* Nested blocks lie inside their parent and never overlap a sibling. */
    const nested = await page.locator('.map .block[data-level="1"]').count();
    assert(nested > 0, 'blocks nest the objects their owner keeps alive');
    for (let i = 0; i < blocks.length; i++)
        for (let j = i + 1; j < blocks.length; j++) {
            const a = blocks[i], b = blocks[j];
            const ox = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
            const oy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
            assert(ox <= 0.5 || oy <= 0.5, 'blocks @' + a.id + ' and @' + b.id + ' overlap');
        }
    /* The legend names the types the blocks are coloured by. */
    const legend = await page.locator('ul.legend li').allTextContents();
    assert(legend.includes(blocks[0].type), 'the legend names ' + blocks[0].type);
});

test('clicking a block zooms into it; its name opens its object page', async (page) => {
    await page.goto(new URL('/map', base).href);
    const blocks = await mapBlocks(page);
    blocks.sort((a, b) => b.w * b.h - a.w * a.h);
    const big = blocks[0];
    /* The right end of its title strip: the block, not the link. */
    await page.mouse.click(big.x + big.w - 4, big.y + 6);
    await page.waitForURL(new URL('/map/' + big.id, base).href);
    const zoomed = await json(page, '/api/map/' + big.id + '?depth=4&limit=30');
    await page.locator('h1', { hasText: 'Heap map of ' + zoomed.description }).waitFor();
    const inner = await mapBlocks(page);
    const kids = new Set(zoomed.children.map((c) => c.id));
    assert(inner.length > 0 && inner.every((b) => kids.has(b.id)),
           'the zoomed map shows what @' + big.id + ' keeps alive');
    /* The breadcrumb leads back to the whole heap. */
    assert(await page.locator('nav.crumbs a[href="/map"]').count() === 1, 'a way back up');
    /* A block's name is a link to its object page. */
    const link = page.locator('.map .block[data-level="0"] .label a').first();
    const href = await link.getAttribute('href');
    await link.click();
    await page.waitForURL(new URL(href, base).href);
    const obj = await json(page, '/api/object/' + href.split('/').pop());
    await page.locator('h1', { hasText: obj.description }).waitFor();
    assert(await page.locator('a[href="/map/' + obj.id + '"]').count() <= 1, 'at most one map link');
});

test('the diff page shows what heapsnap diff says', async (page) => {
    const want = cli('HEAPSNAP_DIFF_JSON');
    await page.goto(base);
    await page.locator('#nav-diff').waitFor({ state: 'visible' });
    await page.locator('#nav-diff').click();
    await page.waitForURL(new URL('/diff', base).href);
    const table = page.locator('section', { hasText: 'Types that changed' }).locator('tbody tr');
    await table.first().waitFor();
    const rows = await table.evaluateAll((trs) => trs.map((tr) =>
        Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    assert(rows.length === Math.min(50, want.types.length), rows.length + ' rows');
    const signed = (n) => (n > 0 ? '+' : n < 0 ? '-' : '') + String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    rows.forEach((r, i) => {
        const t = want.types[i];
        assert(r[4] === t.type, 'row ' + i + ' is ' + t.type + ', not ' + r[4]);
        assert(r[0] === signed(t.new_count - t.old_count), t.type + ' +count ' + r[0]);
        assert(r[2] === signed(t.new_count).replace('+', ''), t.type + ' count ' + r[2]);
        assert(sizeShows(r[3], t.new_bytes), t.type + ' size ' + r[3]);
        assert(sizeShows(r[1].replace(/^[+-]/, ''), Math.abs(t.new_bytes - t.old_bytes)),
               t.type + ' +size ' + r[1]);
    });
    const text = await page.locator('main').textContent();
    assert(want.same_process && text.includes(signed(want.new_objects).replace('+', '') + ', '),
           'the new objects count ' + want.new_objects);
    /* Where the growth is held: the CLI's growth type and path groups. */
    assert(want.growth_type === LEAK, 'the CLI explains LeakedRequest');
    const groups = page.locator('section', { hasText: 'Where the growth is held' }).locator('li.group');
    assert(await groups.count() === want.growth_paths.length, 'as many groups as the CLI');
    for (let i = 0; i < want.growth_paths.length; i++) {
        const g = want.growth_paths[i];
        assert(await groups.nth(i).locator('pre.shape').textContent() === g.shape, 'group ' + i + ' shape');
        assert((await groups.nth(i).textContent()).includes(signed(g.count).replace('+', '') + ' object'),
               'group ' + i + ' count');
        assert(await groups.nth(i).locator('a[href="/object/' + g.example_id + '"]').count() === 1,
               'group ' + i + ' links its example');
    }
});

test('the printed address sets the cookie and hides the token', async (page) => {
    /* A fresh context without the cookie is refused. */
    const bare = await page.context().browser().newContext();
    try {
        const r = await bare.request.get(new URL('/api/info', base).href);
        assert(r.status() === 403, 'no cookie answered ' + r.status());
    } finally {
        await bare.close();
    }
    /* This context opened tokenUrl before the test: it is on `base`. */
    assert(page.url() === base, 'landed on ' + page.url());
    const cookies = await page.context().cookies(base);
    const token = new URL(tokenUrl).searchParams.get('token');
    assert(cookies.length === 1 && cookies[0].value === token &&
           cookies[0].httpOnly && cookies[0].sameSite === 'Strict',
           'cookies ' + JSON.stringify(cookies));
    await page.locator('h1', { hasText: 'Snapshot of' }).waitFor();
});

async function main() {
    if (!base) {
        console.error('usage: node viewer.test.js http://127.0.0.1:PORT/?token=TOKEN');
        process.exit(2);
    }
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
    });
    let failed = 0;

    console.log('1..' + tests.length);
    for (let i = 0; i < tests.length; i++) {
        const t = tests[i];
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        const page = await context.newPage();
        const problems = [];
        const started = Date.now();

        page.setDefaultTimeout(20000);
        page.on('console', (m) => {
            if (m.type() === 'error')
                problems.push('console error: ' + m.text());
        });
        page.on('pageerror', (e) => problems.push('uncaught: ' + e.message));
        page.on('requestfailed', (r) => {
            /* A navigation away aborts a picture still loading: not an error. */
            if (r.failure() && r.failure().errorText !== 'net::ERR_ABORTED')
                problems.push('request failed: ' + r.url() + ' ' + r.failure().errorText);
        });
        try {
            await page.goto(tokenUrl);
            await t.fn(page);
            if (problems.length)
                throw new Error(problems.join('\n'));
            console.log('ok ' + (i + 1) + ' - ' + t.name + ' (' + (Date.now() - started) + ' ms)');
        } catch (err) {
            failed++;
            console.log('not ok ' + (i + 1) + ' - ' + t.name);
            for (const line of String(err && err.stack || err).split('\n').slice(0, 12))
                console.log('  # ' + line);
            for (const line of problems)
                console.log('  # ' + line);
        }
        await context.close();
    }
    await browser.close();
    process.exit(failed ? 1 : 0);
}

main().catch((err) => {
    console.log('Bail out! ' + (err && err.message ? err.message.split('\n')[0] : err));
    process.exit(1);
});
