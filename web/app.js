/*
 * app.js: heapsnap's web viewer.  Reads the page's path, fetches the JSON
 * of `heapsnap serve` (/api/...) and builds one of five views:
 *
 *   /              summary: the snapshot, its biggest types, leak suspects
 *   /type/NAME     why a type's instances are alive, grouped by path
 *   /object/ID     one object: facts, why it is alive (retained size per
 *                  step), referrers and referents, a picture (/svg/...)
 *   /cycles        reference cycles
 *   /advice        memory-saving techniques that apply, with their savings
 *   /map, /map/ID  the heap map: a treemap of the dominator tree (of the
 *                  reachable heap, or below one object), blocks sized by
 *                  retained size and coloured by type; a click zooms in
 *   /diff          what grew since the older snapshot of `serve --diff OLD`
 *
 * Links between views change the address without reloading (history
 * API); links inside the pictures (Graphviz URL attributes, /object/ID)
 * are followed the same way.  Every text from the snapshot goes into the
 * page as text (textContent), never as markup; pictures are parsed as
 * SVG and stripped of anything scriptable before they are shown.
 * Plain ES2017, no framework, no build step.
 */
(function () {
    'use strict';

    const XLINK = 'http://www.w3.org/1999/xlink';
    const view = document.getElementById('view');
    let generation = 0; /* bumped by each navigation: stale fetches stop */

    /* ---- small helpers ------------------------------------------------ */

    /* el('a', {href: '/x', class: 'c'}, 'text', child, ...) */
    function el(tag, attrs) {
        const node = document.createElement(tag);
        const keys = attrs ? Object.keys(attrs) : [];
        for (const k of keys) {
            const v = attrs[k];
            if (v === null || v === undefined || v === false)
                continue;
            if (k === 'class')
                node.className = v;
            else if (k === 'text')
                node.textContent = v;
            else if (k.startsWith('on'))
                node.addEventListener(k.slice(2), v);
            else
                node.setAttribute(k, v === true ? '' : String(v));
        }
        for (let i = 2; i < arguments.length; i++)
            append(node, arguments[i]);
        return node;
    }

    /* append(node, child, ...): strings become text; arrays are spread;
     * null, undefined and false are skipped. */
    function append(node) {
        for (let i = 1; i < arguments.length; i++) {
            const child = arguments[i];
            if (child === null || child === undefined || child === false)
                continue;
            if (Array.isArray(child)) {
                for (const c of child)
                    append(node, c);
                continue;
            }
            node.appendChild(typeof child === 'string' || typeof child === 'number'
                             ? document.createTextNode(String(child)) : child);
        }
    }

    /* "512 B", "1.5 KiB", "23.0 MiB", as the CLI prints sizes. */
    function size(bytes) {
        const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
        if (bytes < 1024)
            return bytes + ' B';
        let v = bytes / 1024, u = 0;
        while (v >= 1024 && u + 1 < units.length) {
            v /= 1024;
            u++;
        }
        return v.toFixed(1) + ' ' + units[u];
    }

    function count(n) {
        return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    }

    function percent(share) {
        return (100 * share).toFixed(1) + '%';
    }

    function plural(n, word) {
        return count(n) + ' ' + word + (n === 1 ? '' : 's');
    }

    function typeHref(name) {
        return '/type/' + encodeURIComponent(name);
    }

    /* A link to an object page: "dict (3 items)" and its address. */
    function objectLink(node, text) {
        return el('span', {class: 'obj'},
                  el('a', {href: '/object/' + node.id,
                           title: node.type + ' @' + node.id},
                     text || node.description || node.type),
                  el('span', {class: 'addr', text: ' ' + node.address}));
    }

    function typeLink(name, text) {
        return el('a', {href: typeHref(name), class: 'type'}, text || name);
    }

    class ApiError extends Error {
        constructor(message, status, body) {
            super(message);
            this.status = status;
            this.body = body;
        }
    }

    /* GET a JSON document; throws ApiError with the server's message. */
    async function api(path) {
        const r = await fetch(path, {headers: {Accept: 'application/json'}});
        let body = null;
        try {
            body = await r.json();
        } catch (e) {
            body = null;
        }
        if (!r.ok || !body)
            throw new ApiError(body && body.error ? body.error
                               : 'the server answered ' + r.status,
                               r.status, body);
        return body;
    }

    function section(title) {
        const s = el('section', null, el('h2', {text: title}));
        for (let i = 1; i < arguments.length; i++)
            append(s, arguments[i]);
        return s;
    }

    function table(headers, rows, classes) {
        const head = el('tr', null, headers.map(function (h, i) {
            return el('th', {class: classes && classes[i], text: h});
        }));
        return el('table', null, el('thead', null, head),
                  el('tbody', null, rows.map(function (cells) {
                      return el('tr', null, cells.map(function (c, i) {
                          return el('td', {class: classes && classes[i]}, c);
                      }));
                  })));
    }

    function show(nodes, title) {
        view.replaceChildren();
        append(view, nodes);
        document.title = title ? title + ' · heapsnap' : 'heapsnap';
        window.scrollTo(0, 0);
    }

    function errorBox(err) {
        const box = el('div', {class: 'error'},
                       el('p', {text: err.message || String(err)}));
        const body = err.body;
        if (body && Array.isArray(body.candidates)) {
            append(box, el('p', {text: 'Which one?'}),
                   el('ul', null, body.candidates.map(function (t) {
                       return el('li', null,
                                 typeLink('@' + t.type_id, t.type),
                                 ' (' + plural(t.count, 'object') + ')');
                   })));
        }
        return box;
    }

    /* ---- pictures ------------------------------------------------------ */

    /* Removes what could run code from a parsed SVG: scripts, foreign
     * content, event attributes and javascript: links. */
    function sanitize(root) {
        for (const bad of root.querySelectorAll('script, foreignObject'))
            bad.remove();
        for (const node of root.querySelectorAll('*')) {
            for (const attr of Array.from(node.attributes)) {
                const name = attr.name.toLowerCase();
                const value = attr.value.trim().toLowerCase();
                if (name.startsWith('on') ||
                    (name.endsWith('href') && !value.startsWith('/object/')))
                    node.removeAttributeNode(attr);
            }
        }
    }

    /* Fetches an SVG from `url` and shows it in `box`. */
    async function loadPicture(box, url, gen) {
        box.replaceChildren(el('p', {class: 'muted', text: 'Drawing…'}));
        let text;
        try {
            const r = await fetch(url);
            if (!r.ok) {
                let msg = 'the server answered ' + r.status;
                try {
                    msg = (await r.json()).error || msg;
                } catch (e) { /* not JSON */ }
                throw new Error(msg);
            }
            text = await r.text();
        } catch (err) {
            if (gen === generation)
                box.replaceChildren(errorBox(err));
            return;
        }
        if (gen !== generation)
            return;
        const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
        const svg = doc.documentElement;
        if (svg.nodeName !== 'svg' || doc.getElementsByTagName('parsererror').length) {
            box.replaceChildren(errorBox(new Error('the picture is not SVG')));
            return;
        }
        sanitize(svg);
        box.replaceChildren(document.importNode(svg, true));
    }

    /* ---- summary ------------------------------------------------------- */

    function infoFacts(d) {
        const m = d.meta || {};
        let argv = m.argv;
        try {
            argv = JSON.parse(m.argv).join(' ');
        } catch (e) { /* keep the text */ }
        const rows = [
            ['snapshot', d.file + ' (format ' + d.format + ', ' + size(d.file_bytes) + ')'],
            ['python', (m.python_implementation || '?') + ' ' + (m.python_version || '?')],
            ['process', 'pid ' + (m.pid === undefined ? '?' : m.pid) + ', ' + (argv || '?')],
            ['created', (m.created_at || '?') + ', trigger ' + (m.trigger || '?')],
            ['objects', count(d.totals.objects) + ' (' + size(d.totals.bytes) + '), '
                        + count(d.totals.types) + ' types'],
            ['references', count(d.totals.edges)],
            ['reachable', count(d.retained.reachable) + ' objects, '
                          + size(d.retained.reachable_bytes)],
            ['unreachable', count(d.retained.unreachable) + ' objects, '
                            + size(d.retained.unreachable_bytes)
                            + ' (cyclic garbage awaiting the collector)'],
            ['roots', count(d.totals.roots)],
            ['threads', String((d.threads || []).length)],
        ];
        return el('dl', {class: 'facts'}, rows.map(function (r) {
            return [el('dt', {text: r[0]}), el('dd', {text: r[1]})];
        }));
    }

    /* RSS split into parts that add up (memory_account.h), or nothing
     * for a snapshot that did not record RSS. */
    function memoryBox(m) {
        if (!m)
            return null;
        function fig(v) {
            if (v === null || v === undefined)
                return 'unknown';
            return v < 0 ? '-' + size(-v) : size(v);
        }
        const rows = [
            ['RSS', fig(m.rss) + (m.rss_peak === null ? '' : ' (peak ' + fig(m.rss_peak) + ')')],
            ['Python objects', fig(m.objects)],
            ['pymalloc free space', fig(m.pymalloc_free)
                + (m.pymalloc_arenas === null ? ' (not recorded)'
                   : ' (' + count(m.pymalloc_arenas) + ' arenas, ' + fig(m.pymalloc_arena_bytes)
                     + ', ' + fig(m.pymalloc_used) + ' in blocks)')],
            ['malloc free space', fig(m.malloc_free)
                + (m.malloc_heap === null ? '' : ' (heap ' + fig(m.malloc_heap) + ', '
                   + fig(m.malloc_used) + ' in use)')],
            ['file-backed pages', fig(m.file_backed)],
            ['unexplained', fig(m.unexplained)
                + (m.rss ? ' (' + percent(m.unexplained / m.rss) + ' of RSS)' : '')],
            ['of which', m.allocated_outside_objects === null ? 'unknown'
                : fig(m.allocated_outside_objects) + ' allocated but in no object'
                  + (m.pymalloc_block_rounding === null ? ''
                     : ' (' + fig(m.pymalloc_block_rounding) + ' rounding small objects up to 16-byte blocks)')
                  + ', ' + fig(m.anonymous_outside_allocators) + ' anonymous memory outside pymalloc and malloc'],
            ['tracemalloc', m.tracemalloc_traced === null ? 'not tracing'
                            : fig(m.tracemalloc_traced) + ' traced'],
        ];
        return el('div', {class: 'memory'},
                  el('dl', {class: 'facts'}, rows.map(function (r) {
                      return [el('dt', {text: r[0]}), el('dd', {text: r[1]})];
                  })),
                  m.warning ? el('p', {class: 'error', text: m.warning}) : null);
    }

    function topTable(d) {
        const retained = d.by === 'retained';
        const heap = retained ? d.heap_bytes : d.total.bytes;
        const rows = d.types.map(function (t) {
            const cells = [count(t.count), size(t.bytes)];
            if (retained)
                cells.push(size(t.retained_size));
            cells.push(percent(heap ? (retained ? t.retained_size : t.bytes) / heap : 0));
            cells.push(typeLink(t.type));
            return cells;
        });
        const headers = retained ? ['count', 'size', 'retained', '%heap', 'type']
                                 : ['count', 'size', '%size', 'type'];
        const classes = retained ? ['num', 'num', 'num', 'num', '']
                                 : ['num', 'num', 'num', ''];
        return el('div', null, table(headers, rows, classes),
                  el('p', {class: 'muted', text: 'total: ' + count(d.total.count)
                           + ' objects, ' + size(d.total.bytes) + ', '
                           + plural(d.total.types, 'type')}));
    }

    function suspectsList(d) {
        const items = [];
        d.objects.forEach(function (s) {
            const o = s.object, acc = s.accumulation_point;
            const li = el('li', null,
                          el('div', null, objectLink(o), ' retains ',
                             el('b', {text: size(o.retained_size)}),
                             ' (' + percent(s.share) + ')'),
                          el('div', {class: 'path'}, 'held by: ', el('code', {text: o.path})));
            if (acc.id !== o.id)
                append(li, el('div', {class: 'path'}, 'accumulation point: ',
                              objectLink(acc), ' retaining ' + size(acc.retained_size),
                              el('br'), 'at: ', el('code', {text: acc.path})));
            if (s.accumulated.length)
                append(li, el('div', {class: 'path'}, 'in: ',
                              s.accumulated.map(function (a, i) {
                                  return [i ? ', ' : '', typeLink(a.type),
                                          ' ×' + count(a.count) + ' (' + size(a.retained_size) + ')'];
                              })));
            items.push(li);
        });
        d.types.forEach(function (t) {
            items.push(el('li', null, typeLink(t.type), ' ×' + count(t.count) + ': '
                          + size(t.bytes) + ' shallow, retaining ',
                          el('b', {text: size(t.retained_size)}),
                          ' (' + percent(t.share) + ') — ',
                          el('a', {href: typeHref(t.type), text: 'why are they alive?'})));
        });
        if (!items.length)
            return el('p', {class: 'muted', text: 'No object or type retains more than '
                            + percent(d.threshold) + ' of the heap.'});
        return el('ol', {class: 'suspects'}, items);
    }

    async function summaryPage(gen) {
        const byButtons = el('div', {class: 'buttons'});
        const topBox = el('div', null, el('p', {class: 'muted', text: 'Loading…'}));
        const suspectsBox = el('div', null, el('p', {class: 'muted', text: 'Loading…'}));
        const sitesBox = el('div', null, el('p', {class: 'muted', text: 'Loading…'}));
        const d = await api('/api/info');
        if (gen !== generation)
            return;
        show([el('h1', {text: 'Snapshot of ' + (d.file || '?')}),
              infoFacts(d),
              d.memory ? section('Memory', memoryBox(d.memory)) : null,
              section('Biggest types', byButtons, topBox),
              section('Leak suspects', el('p', {class: 'muted',
                      text: 'Owners of more than 10% of the reachable heap, and where their memory accumulates.'}),
                      suspectsBox),
              section('By allocation site', sitesBox)], 'summary');
        api('/api/sites?n=20').then(function (t) {
            if (gen === generation)
                sitesBox.replaceChildren(sitesTable(t));
        }).catch(function (err) {
            if (gen === generation)
                sitesBox.replaceChildren(errorBox(err));
        });
        async function loadTop(by) {
            for (const b of byButtons.children)
                b.classList.toggle('on', b.dataset.by === by);
            try {
                const t = await api('/api/top?n=20&by=' + by);
                if (gen === generation)
                    topBox.replaceChildren(topTable(t));
            } catch (err) {
                if (gen === generation)
                    topBox.replaceChildren(errorBox(err));
            }
        }
        for (const by of ['size', 'count', 'retained'])
            append(byButtons, el('button', {type: 'button', 'data-by': by, text: 'by ' + by,
                                            onclick: function () { loadTop(by); }}));
        const top = loadTop('size');
        try {
            const s = await api('/api/suspects');
            if (gen === generation)
                suspectsBox.replaceChildren(suspectsList(s));
        } catch (err) {
            if (gen === generation)
                suspectsBox.replaceChildren(errorBox(err));
        }
        await top;
    }

    /* ---- a type -------------------------------------------------------- */

    async function typePage(gen, name, groups) {
        const d = await api('/api/why?type=' + encodeURIComponent(name) + '&n=' + groups);
        if (gen !== generation)
            return;
        const list = el('ol', {class: 'groups'}, d.groups.map(function (g) {
            const ex = g.example;
            const head = el('div', null, el('b', {text: plural(g.count, 'object')}),
                            ', ' + size(g.bytes) + ' (' + percent(g.share) + '), retaining '
                            + size(g.retained_size));
            if (g.unreachable)
                return el('li', {class: 'group'}, head,
                          el('div', null, 'unreachable: cyclic garbage awaiting the collector; e.g. ',
                             objectLink(ex)));
            return el('li', {class: 'group'}, head, ' via:',
                      el('pre', {class: 'shape', text: g.shape}),
                      el('div', {class: 'path'}, 'e.g. ', objectLink(ex),
                         ' (' + size(ex.size) + ', retains ' + size(ex.retained_size) + '): ',
                         el('code', {text: ex.path})),
                      g.sites ? el('div', {class: 'sites'}, 'allocated at: ', g.sites.map(function (s, i) {
                          return [i ? ', ' : '', el('code', {text: siteText(s)}), ' ×' + count(s.count)];
                      })) : null);
        }));
        const nodes = [el('h1', null, d.type),
                       el('p', null, plural(d.count, d.type.replace(/^.*\./, '') + ' object') + ' ('
                          + size(d.bytes) + ', retaining ' + size(d.retained_size) + ') '
                          + (d.count === 1 ? 'is' : 'are') + ' alive because:'),
                       list];
        if (d.groups_not_shown)
            nodes.push(el('p', null, el('button', {
                type: 'button', text: 'show ' + plural(d.groups_not_shown, 'more group'),
                onclick: function () { run(typePage, name, groups + 20); }})));
        nodes.push(el('p', null, el('a', {href: '/object/' + d.type_id, text: 'the class object itself'})));
        show(nodes, d.type);
    }

    /* ---- an object ----------------------------------------------------- */

    function factsList(d) {
        const rows = [
            ['type', typeLink(d.type)],
            ['address', d.address + ' (object @' + d.id + ')'],
            ['size', size(d.size) + (d.size >= 1024 ? ' (' + count(d.size) + ' B)' : '')],
            ['refcount', String(d.refcount)],
        ];
        if (d.length !== null)
            rows.push(['length', count(d.length)]);
        if (d.value !== null)
            rows.push(['value', el('code', {text: d.value})]);
        rows.push(['flags', d.flags.length ? d.flags.join(', ') : '-']);
        rows.push(['root', d.roots.length ? d.roots.map(function (r) {
            return r.kind + ': ' + r.description;
        }).join('; ') : '-']);
        rows.push(['reachable', d.reachable ? 'yes, ' + plural(d.distance, 'step') + ' from a root'
                                            : 'no: cyclic garbage']);
        rows.push(['retained', d.reachable && d.reachable_bytes
                   ? size(d.retained_size) + ' (' + percent(d.retained_size / d.reachable_bytes)
                     + ' of the reachable heap)'
                   : size(d.retained_size) + ' (its own size: no root reaches it)']);
        if (d.reachable && d.retained_size > d.size)
            rows.push(['heap map', el('a', {href: '/map/' + d.id, text: 'what it keeps alive, as a map'})]);
        rows.push(['dominator', d.idom ? [objectLink(d.idom), ', retaining ' + size(d.idom.retained_size)]
                                       : '- (' + (d.idom_note || 'none') + ')']);
        if (d.allocated_at)
            rows.push(['allocated at', allocatedAt(d.allocated_at)]);
        return el('dl', {class: 'facts'}, rows.map(function (r) {
            return [el('dt', {text: r[0]}), el('dd', null, r[1])];
        }));
    }

    /* ---- allocation sites ----------------------------------------------- */

    function siteText(f) {
        return f.file + ':' + f.line + (f.function ? ' in ' + f.function : '');
    }

    /* An object's allocation traceback, innermost first. */
    function allocatedAt(frames) {
        if (!frames.length)
            return el('span', {class: 'muted', text: 'unknown: allocated before tracemalloc started'});
        return el('ol', {class: 'traceback'}, frames.map(function (f) {
            return el('li', null, el('code', {text: siteText(f)}));
        }));
    }

    /* `top --by site`: lines by bytes, with the types each made. */
    function sitesTable(d) {
        if (!d.recorded)
            return el('p', {class: 'muted', text: 'Not recorded: tracemalloc was not tracing '
                                                  + '(heapsnap dump --trace).'});
        const rows = d.sites.map(function (s) {
            return [count(s.count), size(s.bytes), size(s.retained_size), el('code', {text: siteText(s)}),
                    el('span', null, s.types.map(function (t, i) {
                        return [i ? ', ' : '', typeLink(t.type), ' ×' + count(t.count)];
                    }), s.type_count > s.types.length ? ', …' : '')];
        });
        return el('div', {class: 'sites'},
                  table(['count', 'size', 'retained', 'site', 'types'], rows, ['num', 'num', 'num', '', '']),
                  el('p', {class: 'muted', text: count(d.untraced_objects) + ' objects (' + size(d.untraced_bytes)
                                                 + ') have no site: allocated before tracemalloc started.'}));
    }

    function whyView(w) {
        if (w.reason === 'unreachable') {
            return el('div', null,
                      el('p', {text: w.held_by.length
                               ? 'No root reaches it. It is held by:'
                               : 'No root reaches it, and nothing in the snapshot holds it.'}),
                      el('ul', null, w.held_by.map(function (h) {
                          return el('li', null,
                                    (h.cycle ? (h.contains_object ? 'a reference cycle it is in: '
                                                                  : 'a reference cycle: ')
                                             : 'objects nothing in the snapshot holds: ')
                                    + h.description + ', ' + size(h.bytes)
                                    + (h.has_del ? ' (a member has __del__)' : ''),
                                    el('div', {class: 'path'}, 'members: ',
                                       h.member_ids.map(function (id, i) {
                                           return [i ? ', ' : '', el('a', {href: '/object/' + id, text: '@' + id})];
                                       }), h.members > h.member_ids.length ? ', …' : ''));
                      })));
        }
        const rows = [[size(w.root.object.retained_size), objectLink(w.root.object)]];
        for (const step of w.path) {
            if (step.elided !== undefined) {
                rows.push(['', el('span', {class: 'muted', text: '… ' + count(step.elided) + ' more steps …'})]);
                continue;
            }
            rows.push([size(step.to.retained_size),
                       [el('code', {class: 'label', text: step.label}), ' → ', objectLink(step.to)]]);
        }
        return el('div', null,
                  el('p', null, w.reason === 'root' ? 'It is a root: ' : 'Held from the root ',
                     el('b', {text: w.root.description}), ' (' + w.root.kind + ')',
                     w.reason === 'root' ? '.' : ', along the shortest path:'),
                  w.reason === 'root' ? null : el('pre', {class: 'shape', text: w.text}),
                  el('table', {class: 'steps'},
                     el('thead', null, el('tr', null, el('th', {class: 'num', text: 'retains'}),
                                          el('th', {text: 'object'}))),
                     el('tbody', null, rows.map(function (r) {
                         return el('tr', null, el('td', {class: 'num'}, r[0]), el('td', null, r[1]));
                     }))));
    }

    function refsTable(list, total, incoming, more) {
        const rows = list.map(function (r) {
            const label = el('code', {class: 'label' + (r.weak ? ' weak' : ''), text: r.label});
            return incoming ? [objectLink(r), label, size(r.size), size(r.retained_size)]
                            : [label, objectLink(r), size(r.size), size(r.retained_size)];
        });
        const box = el('div', null);
        if (!total) {
            append(box, el('p', {class: 'muted', text: 'none'}));
            return box;
        }
        append(box, table(incoming ? ['referrer', 'reference', 'size', 'retains']
                                   : ['reference', 'referent', 'size', 'retains'],
                          rows, ['', '', 'num', 'num']));
        if (total > list.length)
            append(box, el('p', {class: 'muted'}, 'showing ' + count(list.length) + ' of '
                           + count(total) + ' ', el('button', {type: 'button', text: 'show more',
                                                               onclick: more})));
        return box;
    }

    function pictureBox(id, gen) {
        const box = el('div', {class: 'picture', id: 'picture'});
        const kind = el('select', {'aria-label': 'picture'},
                        el('option', {value: 'backrefs', text: 'what refers to it (backrefs)'}),
                        el('option', {value: 'refs', text: 'what it refers to (refs)'}),
                        el('option', {value: 'why', text: 'why it is alive (path)'}));
        const depth = el('select', {'aria-label': 'depth'}, [1, 2, 3, 4, 5, 6].map(function (n) {
            return el('option', {value: n, text: 'depth ' + n, selected: n === 3});
        }));
        const many = el('select', {'aria-label': 'references per object'}, [5, 10, 20, 50].map(function (n) {
            return el('option', {value: n, text: n + ' per object', selected: n === 10});
        }));
        const open = el('a', {class: 'open', target: '_blank', rel: 'noopener', text: 'open the SVG'});
        function url() {
            if (kind.value === 'why')
                return '/svg/why/' + id;
            return '/svg/' + kind.value + '/' + id + '?depth=' + depth.value + '&too_many=' + many.value;
        }
        function reload() {
            depth.disabled = many.disabled = kind.value === 'why';
            open.setAttribute('href', url());
            loadPicture(box, url(), gen);
        }
        kind.addEventListener('change', reload);
        depth.addEventListener('change', reload);
        many.addEventListener('change', reload);
        reload();
        return el('div', null, el('div', {class: 'controls'}, kind, depth, many, open), box);
    }

    async function objectPage(gen, id, limit) {
        if (!/^\d+$/.test(id))
            throw new ApiError("'" + id + "' is not an object id", 404, null);
        const results = await Promise.all([api('/api/object/' + id + '?n=' + limit),
                                           api('/api/why/' + id)]);
        if (gen !== generation)
            return;
        const d = results[0], w = results[1];
        function more() {
            run(objectPage, id, limit * 4);
        }
        show([el('h1', null, d.description, el('span', {class: 'addr', text: ' ' + d.address})),
              factsList(d),
              section('Why is it alive?', whyView(w)),
              section('Picture', pictureBox(id, gen)),
              section('Referrers (' + count(d.referrers_total) + ')',
                      refsTable(d.referrers, d.referrers_total, true, more)),
              section('Referents (' + count(d.referents_total) + ')',
                      refsTable(d.referents, d.referents_total, false, more))],
             d.description + ' @' + d.id);
    }

    /* ---- cycles -------------------------------------------------------- */

    async function cyclesPage(gen, opts) {
        const q = '/api/cycles?n=' + opts.n + (opts.all ? '&all=1' : '') + (opts.garbage ? '&garbage=1' : '');
        const d = await api(q);
        if (gen !== generation)
            return;
        const toggles = el('div', {class: 'buttons'},
                           el('button', {type: 'button', class: opts.garbage ? 'on' : null,
                                         text: 'only garbage', onclick: function () {
                                             run(cyclesPage, {n: opts.n, all: opts.all, garbage: !opts.garbage});
                                         }}),
                           el('button', {type: 'button', class: opts.all ? 'on' : null,
                                         text: 'with interpreter machinery', onclick: function () {
                                             run(cyclesPage, {n: opts.n, all: !opts.all, garbage: opts.garbage});
                                         }}));
        const list = el('ol', {class: 'cycles'}, d.cycles.map(function (c) {
            const types = Object.keys(c.types).map(function (t) {
                return t.replace(/^.*\./, '') + ' ×' + count(c.types[t]);
            }).join(', ');
            const loop = el('div', {class: 'path'});
            c.loop.forEach(function (s, i) {
                if (i === 0)
                    append(loop, el('a', {href: '/object/' + s.from, text: s.from_type + ' @' + s.from}));
                append(loop, ' ', el('code', {class: 'label', text: s.label}), ' → ',
                       i + 1 < c.loop.length ? el('a', {href: '/object/' + s.to, text: s.to_type + ' @' + s.to})
                                             : 'back');
            });
            return el('li', null,
                      el('div', null, el('b', {text: plural(c.members, 'object')}), ', ' + size(c.bytes)
                         + (c.unreachable ? ', unreachable' : '') + (c.has_del ? ', a member has __del__' : '')
                         + ': ' + types),
                      c.loop.length ? loop : el('div', {class: 'path'}, 'e.g. ', objectLink(c.first)));
        }));
        const nodes = [el('h1', {text: 'Reference cycles'}),
                       el('p', null, plural(d.total, 'reference cycle') + ' (' + size(d.total_bytes) + '); '
                          + count(d.unreachable) + ' unreachable (' + size(d.unreachable_bytes)
                          + ') awaiting the cyclic gc'),
                       toggles, d.cycles.length ? list : el('p', {class: 'muted', text: 'none'})];
        if (d.not_shown)
            nodes.push(el('p', null, el('button', {type: 'button', text: 'show ' + count(d.not_shown) + ' more',
                                                      onclick: function () {
                                                          run(cyclesPage, {n: opts.n + 50, all: opts.all,
                                                                           garbage: opts.garbage});
                                                      }})));
        if (d.machinery.cycles && !opts.all)
            nodes.push(el('p', {class: 'muted', text: 'not listed: ' + plural(d.machinery.cycles, 'cycle')
                                   + ' of interpreter machinery (modules and classes with their functions, '
                                   + 'dicts and descriptors): ' + count(d.machinery.members) + ' objects, '
                                   + size(d.machinery.bytes)}));
        show(nodes, 'cycles');
    }

    /* ---- advice -------------------------------------------------------- */

    async function advicePage(gen, opts) {
        const d = await api('/api/advise?n=' + opts.n + '&min_bytes=' + opts.minBytes);
        if (gen !== generation)
            return;
        const list = el('ol', {class: 'advice'}, d.findings.map(function (f) {
            const item = el('li', null,
                            el('div', null, el('b', {text: f.kind}), ': saves ',
                               el('b', {class: 'saving', text: size(f.bytes_saved)}), ' — ' + f.title),
                            el('div', null, 'fix: ', el('code', {class: 'fix', text: f.fix})));
            if (f.where)
                append(item, el('div', {class: 'path'}, 'where: ', f.example ? objectLink(f.example) : '',
                                ' ', el('span', {class: 'muted', text: f.where})));
            if (f.opened_at)
                append(item, el('div', null, 'opened at ',
                                el('code', {text: f.opened_at.file + ':' + f.opened_at.line
                                                  + (f.opened_at.function ? ' in ' + f.opened_at.function : '')})));
            append(item, el('div', {class: 'muted', text: f.basis}));
            return item;
        }));
        const nodes = [el('h1', {text: 'Advice'}),
                       el('p', null, d.findings.length
                          ? plural(d.findings.length + d.findings_not_shown, 'finding') + ' would save '
                            + size(d.total_bytes_saved)
                          : 'no findings saving ' + size(opts.minBytes) + ' or more'),
                       d.findings.length ? list : el('p', {class: 'muted', text: 'none'})];
        if (d.findings_not_shown)
            nodes.push(el('p', null, el('button', {type: 'button', text: 'show ' + count(d.findings_not_shown) + ' more',
                                                      onclick: function () {
                                                          run(advicePage, {n: opts.n + 50, minBytes: opts.minBytes});
                                                      }})));
        if (!d.type_layouts)
            nodes.push(el('p', {class: 'muted', text: 'this snapshot has no type_layouts table (an older agent): '
                                   + '__slots__ was not checked'}));
        show(nodes, 'advice');
    }

    /* ---- heap map ------------------------------------------------------ */

    /* A type's colour: a hue from its name, the same on every page. */
    function typeColor(type) {
        let h = 2166136261;
        for (let i = 0; i < type.length; i++)
            h = Math.imul(h ^ type.charCodeAt(i), 16777619) >>> 0;
        return 'hsl(' + (h % 360) + ', 55%, ' + (68 + (h >> 9) % 12) + '%)';
    }

    /*
     * Squarified treemap (Bruls, Huizing and van Wijk): lays `values`
     * (sorted biggest first, all > 0) out in the rectangle r = {x, y, w,
     * h}, each with an area in proportion to its value; rows are filled
     * along the shorter side while that keeps the worst aspect ratio
     * falling.  Returns one rectangle per value, in order.
     */
    function squarify(values, r) {
        const total = values.reduce(function (a, b) { return a + b; }, 0);
        const out = [];
        if (!total || r.w <= 0 || r.h <= 0)
            return values.map(function () { return {x: r.x, y: r.y, w: 0, h: 0}; });
        const scale = r.w * r.h / total;
        let x = r.x, y = r.y, w = r.w, h = r.h, row = [], rowSum = 0, i = 0;
        function worst(sum, items, side) {
            let max = 0, min = Infinity;
            for (const v of items) {
                max = Math.max(max, v);
                min = Math.min(min, v);
            }
            return Math.max(side * side * max / (sum * sum), sum * sum / (side * side * min));
        }
        function place() {
            if (w >= h) {           /* a column at the left */
                const cw = rowSum / h;
                let yy = y;
                for (const v of row) {
                    out.push({x: x, y: yy, w: cw, h: v / cw});
                    yy += v / cw;
                }
                x += cw;
                w -= cw;
            } else {                /* a row at the top */
                const rh = rowSum / w;
                let xx = x;
                for (const v of row) {
                    out.push({x: xx, y: y, w: v / rh, h: rh});
                    xx += v / rh;
                }
                y += rh;
                h -= rh;
            }
            row = [];
            rowSum = 0;
        }
        const scaled = values.map(function (v) { return v * scale; });
        while (i < scaled.length) {
            const side = Math.min(w, h), v = scaled[i];
            if (!row.length || worst(rowSum + v, row.concat([v]), side) <= worst(rowSum, row, side)) {
                row.push(v);
                rowSum += v;
                i++;
            } else {
                place();
            }
        }
        if (row.length)
            place();
        return out;
    }

    /* Pixels a block needs to show its children inside it. */
    const MAP_NEST_W = 56, MAP_NEST_H = 44, MAP_HEAD = 18, MAP_PAD = 3;

    /*
     * Lays node's children (and, as one hatched block, what it retains
     * that no listed child does: its own size and the children left out)
     * into `rect` of `box`; each child block nests its own children when
     * it is big enough.  An explicit queue, not recursion.
     */
    function drawMap(box, root, rect, total, legend) {
        const queue = [{node: root, rect: rect, level: 0}];
        while (queue.length) {
            const job = queue.shift();
            const node = job.node, kids = (node.children || []).filter(function (c) {
                return c.retained_size > 0;
            });
            const listed = kids.reduce(function (a, c) { return a + c.retained_size; }, 0);
            const restBytes = Math.max(0, node.retained_size - listed);
            const values = kids.map(function (c) { return c.retained_size; });
            if (restBytes > 0)
                values.push(restBytes);
            const rects = squarify(values, job.rect);
            kids.forEach(function (c, i) {
                const r = rects[i];
                if (r.w < 1 || r.h < 1)
                    return;
                legend[c.type] = (legend[c.type] || 0) + r.w * r.h;
                const share = total ? c.retained_size / total : 0;
                const block = el('div', {class: 'block', 'data-id': c.id, 'data-type': c.type,
                                         'data-retained': c.retained_size, 'data-level': job.level,
                                         title: c.description + ' @' + c.id + ': retains '
                                                + size(c.retained_size) + ' (' + percent(share)
                                                + ' of the map), itself ' + size(c.size)
                                                + (c.children_total ? '; click to zoom in' : '')});
                block.style.left = r.x + 'px';
                block.style.top = r.y + 'px';
                block.style.width = r.w + 'px';
                block.style.height = r.h + 'px';
                block.style.background = typeColor(c.type);
                if (r.w > 34 && r.h > 14)
                    append(block, el('div', {class: 'label'},
                                     el('a', {href: '/object/' + c.id, text: c.description}),
                                     ' ' + size(c.retained_size)));
                block.addEventListener('click', function (e) {
                    if (e.target.closest('a'))
                        return;
                    e.stopPropagation();
                    if (c.children_total)
                        navigate('/map/' + c.id);
                });
                box.appendChild(block);
                if (c.children && c.children.length && r.w >= MAP_NEST_W && r.h >= MAP_NEST_H)
                    queue.push({node: c, level: job.level + 1,
                                rect: {x: r.x + MAP_PAD, y: r.y + MAP_HEAD,
                                       w: r.w - 2 * MAP_PAD, h: r.h - MAP_HEAD - MAP_PAD}});
            });
            if (restBytes > 0) {
                const r = rects[rects.length - 1];
                const n = node.rest ? node.rest.count : 0;
                if (r.w >= 1 && r.h >= 1) {
                    const rest = el('div', {class: 'block rest', 'data-rest': restBytes,
                                            title: (node.description || 'the heap') + ': '
                                                   + size(node.size) + ' itself'
                                                   + (n ? ' and ' + plural(n, 'smaller object') + ' it holds alone, '
                                                          + size(node.rest.retained_size) : '')});
                    rest.style.left = r.x + 'px';
                    rest.style.top = r.y + 'px';
                    rest.style.width = r.w + 'px';
                    rest.style.height = r.h + 'px';
                    if (r.w > 60 && r.h > 14 && (job.level === 0 || (r.w > 120 && r.h > 40)))
                        append(rest, el('div', {class: 'label', text: (n ? count(n) + ' more, ' : 'itself, ')
                                                                      + size(restBytes)}));
                    /* Inside a block, the rest zooms into that block. */
                    if (job.level > 0)
                        rest.addEventListener('click', function () {
                            navigate('/map/' + node.id);
                        });
                    box.appendChild(rest);
                }
            }
        }
    }

    async function mapPage(gen, id) {
        const d = await api('/api/map' + (id ? '/' + id : '') + '?depth=4&limit=30');
        if (gen !== generation)
            return;
        const crumbs = el('nav', {class: 'crumbs', 'aria-label': 'dominators'},
                          id ? el('a', {href: '/map', text: 'the reachable heap'}) : 'the reachable heap');
        if (d.ancestors_more)
            append(crumbs, ' › … ' + count(d.ancestors_more) + ' more');
        for (const a of d.ancestors)
            append(crumbs, ' › ', el('a', {href: '/map/' + a.id, text: a.description}));
        if (id)
            append(crumbs, ' › ', el('b', {text: d.description}), ' (',
                   el('a', {href: '/object/' + d.id, text: 'object page'}), ')');
        const box = el('div', {class: 'map', id: 'map'});
        const legendBox = el('ul', {class: 'legend'});
        const intro = id
            ? plural(d.children_total, 'object') + ' that only ' + d.description + ' keeps alive, '
              + size(d.retained_size) + ' in all, each block sized by what it retains.'
            : 'Every object is inside the block of the object that keeps it alive alone (its '
              + 'dominator), sized by what it retains: ' + size(d.retained_size)
              + ' reachable' + (d.unreachable_bytes ? ', and ' + size(d.unreachable_bytes)
                                + ' of unreachable garbage not shown' : '') + '.';
        show([el('h1', {text: id ? 'Heap map of ' + d.description : 'Heap map'}), crumbs,
              el('p', {class: 'muted', text: intro + ' Click a block to zoom in; its name opens the object.'}),
              box, legendBox], id ? 'map ' + d.description : 'heap map');
        if (!d.children || !d.children.length) {
            box.replaceWith(el('p', {class: 'muted', text: d.reachable === false
                ? 'No root reaches this object: it dominates nothing.'
                : 'It keeps nothing else alive on its own.'}));
            return;
        }
        const legend = {};
        drawMap(box, d, {x: 0, y: 0, w: box.clientWidth, h: box.clientHeight},
                d.retained_size, legend);
        const types = Object.keys(legend).sort(function (a, b) { return legend[b] - legend[a]; });
        append(legendBox, types.slice(0, 14).map(function (t) {
            const swatch = el('span', {class: 'swatch'});
            swatch.style.background = typeColor(t);
            return el('li', null, swatch, typeLink(t));
        }));
    }

    /* ---- diff (serve --diff OLD) -------------------------------------- */

    /* "+1,234", "-5", "0" and "+1.2 MiB", "-48 B", "0 B", as `diff` prints. */
    function signedCount(n) {
        return (n > 0 ? '+' : n < 0 ? '-' : '') + count(Math.abs(n));
    }

    function signedSize(n) {
        return (n > 0 ? '+' : n < 0 ? '-' : '') + size(Math.abs(n));
    }

    function diffSide(s) {
        return s.file + ' (pid ' + (s.pid || '?') + ', ' + (s.created_at || '?') + '): '
               + count(s.objects) + ' objects, ' + size(s.bytes);
    }

    async function diffPage(gen, rowsShown) {
        const d = await api('/api/diff');
        if (gen !== generation)
            return;
        const rows = d.types.slice(0, rowsShown).map(function (t) {
            return [signedCount(t.new_count - t.old_count), signedSize(t.new_bytes - t.old_bytes),
                    count(t.new_count), size(t.new_bytes),
                    t.new_count ? typeLink(t.type) : t.type];
        });
        const nodes = [el('h1', {text: 'What grew'}),
                       el('dl', {class: 'facts'},
                          el('dt', {text: 'from'}), el('dd', {text: diffSide(d.old)}),
                          el('dt', {text: 'to'}), el('dd', {text: diffSide(d.new)}),
                          el('dt', {text: 'change'}),
                          el('dd', {text: signedCount(d.new.objects - d.old.objects) + ' objects, '
                                         + signedSize(d.new.bytes - d.old.bytes)
                                         + (d.same_process ? ''
                                            : ' (two different processes: compared by type only)')}),
                          d.same_process ? [el('dt', {text: 'new objects'}),
                                            el('dd', {text: count(d.new_objects) + ', '
                                                            + size(d.new_objects_bytes)
                                                            + ' (in the newer snapshot, not in the older, '
                                                            + 'by address and type)'})] : null),
                       section('Types that changed (' + count(d.types_changed) + ')',
                               d.types.length ? table(['+count', '+size', 'count', 'size', 'type'], rows,
                                                      ['num', 'num', 'num', 'num', ''])
                                              : el('p', {class: 'muted', text: 'no type changed'}),
                               d.types.length > rowsShown
                                   ? el('p', null, el('button', {type: 'button',
                                                                 text: 'show all ' + count(d.types.length),
                                                                 onclick: function () {
                                                                     run(diffPage, d.types.length);
                                                                 }}))
                                   : null)];
        if (d.growth_type) {
            const n = d.growth_new_objects;
            nodes.push(section('Where the growth is held',
                el('p', null, 'The ' + count(n) + ' new ', typeLink(d.growth_type),
                   ' object' + (n === 1 ? ' is' : 's are') + ' alive because:'),
                el('ol', {class: 'groups'}, d.growth_paths.map(function (g) {
                    return el('li', {class: 'group'},
                              el('div', null, el('b', {text: plural(g.count, 'object')}), ', ' + size(g.bytes) + ', via:'),
                              el('pre', {class: 'shape', text: g.shape}),
                              el('div', {class: 'path'}, 'e.g. ',
                                 el('a', {href: '/object/' + g.example_id,
                                          text: g.example_description + ' @' + g.example_id})));
                })),
                d.growth_groups > d.growth_paths.length
                    ? el('p', {class: 'muted', text: 'and ' + plural(d.growth_groups - d.growth_paths.length, 'more group')})
                    : null));
        }
        show(nodes, 'diff');
    }

    /* ---- routing ------------------------------------------------------- */

    /* Runs a page function for a new generation, showing its errors. */
    async function run(page) {
        const gen = ++generation;
        const args = [gen].concat(Array.prototype.slice.call(arguments, 1));
        try {
            await page.apply(null, args);
        } catch (err) {
            if (gen === generation)
                show([el('h1', {text: err.status === 404 ? 'Not found' : 'Error'}), errorBox(err)], 'error');
        }
    }

    function route() {
        const path = location.pathname;
        let m;
        if (path === '/' || path === '/index.html')
            return run(summaryPage);
        if (path === '/cycles')
            return run(cyclesPage, {n: 20, all: false, garbage: false});
        if (path === '/advice')
            return run(advicePage, {n: 20, minBytes: 65536});
        if ((m = /^\/type\/(.+)$/.exec(path)))
            return run(typePage, decodeURIComponent(m[1]), 5);
        if ((m = /^\/object\/(.+)$/.exec(path)))
            return run(objectPage, m[1], 50);
        if (path === '/map')
            return run(mapPage, null);
        if (path === '/diff')
            return run(diffPage, 50);
        if ((m = /^\/map\/(\d+)$/.exec(path)))
            return run(mapPage, m[1]);
        return run(function () {
            throw new ApiError('no page ' + path, 404, null);
        });
    }

    function navigate(href) {
        if (href !== location.pathname + location.search)
            history.pushState(null, '', href);
        closeSearch();
        route();
    }

    /* Same-page links: the header, the views and the pictures (whose links
     * are SVG <a xlink:href>). */
    document.addEventListener('click', function (e) {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
            return;
        const a = e.target.closest ? e.target.closest('a') : null;
        if (!a || a.getAttribute('target'))
            return;
        const href = a.getAttribute('href') || a.getAttributeNS(XLINK, 'href');
        if (!href || !/^\/(?:$|object\/|type\/|cycles$|advice$|map(?:$|\/)|diff$)/.test(href))
            return;
        e.preventDefault();
        navigate(href);
    });

    window.addEventListener('popstate', route);

    /* ---- search -------------------------------------------------------- */

    const searchForm = document.getElementById('search');
    const searchInput = document.getElementById('search-input');
    const searchResults = document.getElementById('search-results');
    let searchTimer = 0, searchSeq = 0;

    function closeSearch() {
        searchResults.hidden = true;
        searchResults.replaceChildren();
    }

    async function runSearch() {
        const q = searchInput.value.trim();
        const seq = ++searchSeq;
        if (!q) {
            closeSearch();
            return;
        }
        let d;
        try {
            d = await api('/api/search?n=12&q=' + encodeURIComponent(q));
        } catch (err) {
            d = {types: [], objects: [], error: err.message};
        }
        if (seq !== searchSeq)
            return;
        const items = [];
        for (const o of d.objects)
            items.push(el('li', {role: 'option'}, el('a', {href: '/object/' + o.id},
                                                      o.description + ' ' + o.address)));
        for (const t of d.types)
            items.push(el('li', {role: 'option'}, el('a', {href: typeHref(t.type)}, t.type),
                          el('span', {class: 'muted', text: ' ' + plural(t.count, 'object') + ', '
                                      + size(t.bytes)})));
        if (!items.length)
            items.push(el('li', {class: 'muted', text: d.error || 'nothing matches'}));
        searchResults.replaceChildren();
        append(searchResults, items);
        searchResults.hidden = false;
    }

    searchInput.addEventListener('input', function () {
        clearTimeout(searchTimer);
        searchTimer = setTimeout(runSearch, 150);
    });
    searchInput.addEventListener('keydown', function (e) {
        if (e.key === 'Escape')
            closeSearch();
    });
    /* Enter opens the first result. */
    searchForm.addEventListener('submit', async function (e) {
        e.preventDefault();
        clearTimeout(searchTimer);
        await runSearch();
        const first = searchResults.querySelector('a');
        if (first)
            navigate(first.getAttribute('href'));
    });
    document.addEventListener('click', function (e) {
        if (!searchForm.contains(e.target))
            closeSearch();
    });

    /* ---- start --------------------------------------------------------- */

    api('/api/info').then(function (d) {
        document.getElementById('snapshot').textContent =
            d.file + ' · ' + count(d.totals.objects) + ' objects';
        if (d.diff_old)
            document.getElementById('nav-diff').hidden = false;
    }).catch(function () { /* the view shows the error */ });
    route();
}());
