/*
 * advise_resources.c: the `open_resources` finding.  Files, sockets,
 * sqlite3 connections, memory maps, subprocesses and threads still open
 * (or running) at the dump: the "release resources explicitly" technique.
 * Open or closed is read from the agent's value of the object ("fd 3",
 * "open", "mapped 4096" or "closed": its C struct, read without running
 * Python code), a Popen's .returncode (None: never waited for) and the
 * threads table (a Thread listed there is alive).
 *
 * A file is reported as its outermost wrapper (a TextIOWrapper over a
 * BufferedReader over the FileIO); the standard streams (fd 0 to 2) are
 * not, and a Popen's pipes count with the Popen.  The saving is what
 * closing and dropping each frees: its retained size (dominator tree,
 * with 3.11+ attribute values), plus a memory map's mapped length; for a
 * thread, what only its frames hold (everything reachable without the
 * reported threads' roots is kept) and its target and arguments, which
 * Thread.run drops when it ends.  Findings are grouped by kind of
 * resource, outer type and how it is held (the type of the referrer on
 * its retention path and the kind of that reference) and, when the
 * snapshot has allocation sites, by the line that opened them (the
 * innermost frame of the outer object's traceback).  Cost: O(n + m).
 */
#include "advise.h"
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum res_kind { R_FILE, R_SOCKET, R_SQLITE, R_MMAP, R_POPEN, R_THREAD, R_N };

#define R_NONE       0xFF /* tkind of a type that is no resource */
#define OWNER_NONE   UINT32_MAX
#define OWNER_SHARED (UINT32_MAX - 1)

/* What the finding says for each kind of resource. */
static const struct {
    const char *one;  /* "open file" */
    const char *what; /* "open files" */
    const char *fix;  /* the one-line fix */
} res_text[R_N] = {
    [R_FILE] = { "open file", "open files",
                 "close each when done: with open(...) as f: ... (or "
                 "f.close()), and drop the reference; closing frees its "
                 "buffer" },
    [R_SOCKET] = { "open socket", "open sockets",
                   "close each when done: with socket.socket(...) as s: "
                   "... (or s.close()), and drop the reference" },
    [R_SQLITE] = { "open sqlite3 connection", "open sqlite3 connections",
                   "close each when done: conn.close(), or with "
                   "contextlib.closing(sqlite3.connect(...)) as conn: (a "
                   "plain 'with conn:' only commits)" },
    [R_MMAP] = { "open memory map", "open memory maps",
                 "close each when done: with mmap.mmap(...) as m: ... (or "
                 "m.close()); the mapping goes at once" },
    [R_POPEN] = { "subprocess not waited for or with open pipes",
                  "subprocesses not waited for or with open pipes",
                  "wait for each and close its pipes: with "
                  "subprocess.Popen(...) as p: ..., or p.communicate()" },
    [R_THREAD] = { "thread still running", "threads still running",
                   "let each thread finish and join it (t.join()), or run "
                   "the work in a bounded "
                   "concurrent.futures.ThreadPoolExecutor; what its frames "
                   "hold goes when it ends" },
};

/* One open resource. */
struct resource {
    uint8_t kind;         /* enum res_kind */
    uint8_t edge_kind;    /* kind of the reference holding it, or 0xFF for
                             a root */
    uint32_t node;        /* its outermost object */
    uint32_t type;        /* that object's type */
    uint32_t holder_type; /* type of its referrer on the retention path, or
                             UINT32_MAX for a root */
    uint64_t bytes;       /* what releasing it frees */
    uint64_t mapped;      /* a memory map's length */
    uint32_t site;        /* the frame that opened it (sites.h), 0 when
                             unknown */
};

struct res_list {
    struct resource *v;
    uint32_t n, alloc;
};

static int
type_is(const struct hs_type *t, const char *module, const char *name)
{
    return t->module && !strcmp(t->module, module) && !strcmp(t->name, name);
}

/* The resource kind of a type whose value says whether it is open, or of
 * a Popen; R_NONE for others.  *wrapper: an _io buffer or text layer. */
static uint8_t
type_kind(const struct hs_type *t, int *wrapper)
{
    static const char *const wrappers[] = { "BufferedReader", "BufferedWriter",
                                            "BufferedRandom", "BufferedRWPair",
                                            "TextIOWrapper" };

    *wrapper = 0;
    for (size_t i = 0; i < HS_ARRAY_SIZE(wrappers); i++)
        *wrapper |= type_is(t, "_io", wrappers[i]);
    if (type_is(t, "_io", "FileIO"))
        return R_FILE;
    if (type_is(t, "socket", "socket") || type_is(t, "_socket", "socket") ||
        type_is(t, "ssl", "SSLSocket"))
        return R_SOCKET;
    if (type_is(t, "sqlite3", "Connection"))
        return R_SQLITE;
    if (type_is(t, "mmap", "mmap"))
        return R_MMAP;
    if (type_is(t, "subprocess", "Popen"))
        return R_POPEN;
    return R_NONE;
}

struct scan {
    const struct hs_graph *g;
    const uint8_t *tkind; /* per type */
    struct res_list *out;
};

static struct resource *
res_add(struct res_list *l, uint8_t kind, uint32_t node)
{
    struct resource *r;

    HS_ALLOC_GROW(l->v, l->n + 1, l->alloc);
    r = &l->v[l->n++];
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->node = node;
    return r;
}

/* The number after `prefix` in value ("fd 3"), or -1 when value is not
 * prefix and a number. */
static int
value_number(const char *value, const char *prefix, uint64_t *n)
{
    size_t len = strlen(prefix);

    return strncmp(value, prefix, len) ? -1 : hs_parse_u64(value + len, n);
}

/* hs_facts_each_value callback: keeps the open ones. */
static int
scan_value(uint32_t v, const char *value, size_t len, void *arg)
{
    struct scan *s = arg;
    uint8_t kind = s->tkind[s->g->type[v]];
    uint64_t n;

    (void)len;
    if ((kind == R_FILE || kind == R_SOCKET) &&
        value_number(value, "fd ", &n) == 0) {
        /* The standard streams stay open for the process's life. */
        if (kind == R_SOCKET || n > 2)
            res_add(s->out, kind, v);
    } else if (kind == R_SQLITE && !strcmp(value, "open")) {
        res_add(s->out, kind, v);
    } else if (kind == R_MMAP && value_number(value, "mapped ", &n) == 0) {
        res_add(s->out, kind, v)->mapped = n;
    }
    return 0;
}

struct edge_slot {
    uint32_t edge; /* an edge number */
    uint32_t slot; /* whose: an index into the caller's nodes */
};

static int
by_edge(const void *a, const void *b)
{
    const struct edge_slot *x = a, *y = b;

    return x->edge < y->edge ? -1 : x->edge > y->edge;
}

/* The args (names ids) of the edges in es[0 .. n), in edge order. */
static int
slot_args(const struct hs_advise_ctx *c, struct edge_slot *es, uint32_t n,
          uint32_t **args)
{
    uint32_t *edges = hs_xmalloc(((size_t)n + 1) * sizeof(*edges));
    int rc;

    if (n) /* es may be NULL then, which qsort() must not be given */
        qsort(es, n, sizeof(*es), by_edge);
    for (uint32_t i = 0; i < n; i++)
        edges[i] = es[i].edge;
    *args = hs_xcalloc((size_t)n + 1, sizeof(**args));
    rc = hs_advise_edge_args(c, edges, n, *args);
    free(edges);
    return rc;
}

/*
 * For each of the n `nodes`, the edges of its attributes named by
 * names[0 .. nnames): an attribute reference (3.11+, slots) or a value of
 * its __dict__ (before 3.11), into out[i * nnames + j], UINT32_MAX where
 * it has none (nnames at most 8).  0, or -1 after a read error (exit 4).
 * O(out-degrees).
 */
static int
attr_edges(const struct hs_advise_ctx *c, const uint32_t *nodes, uint32_t n,
           const char *const *names, uint32_t nnames, uint32_t *out)
{
    const struct hs_graph *g = c->g;
    uint32_t ids[8], keys[8], dict_id, ne = 0, alloc = 0, *args = NULL;
    struct edge_slot *es = NULL;
    int rc = 0;

    for (uint64_t i = 0; i < (uint64_t)n * nnames; i++)
        out[i] = UINT32_MAX;
    {
        /* __dict__, the attribute names, the same as __dict__ keys. */
        const char *texts[1 + 2 * 8];
        char quoted[8][64];
        uint32_t found[1 + 2 * 8];

        if (nnames > 8)
            return hs_error(HS_EXIT_INTERNAL, "attr_edges: %u names, at most "
                                              "8", nnames);
        texts[0] = "__dict__";
        for (uint32_t j = 0; j < nnames; j++) {
            snprintf(quoted[j], sizeof(quoted[j]), "'%s'", names[j]);
            texts[1 + j] = names[j];
            texts[1 + nnames + j] = quoted[j];
        }
        if (hs_graph_name_ids(g, texts, 1 + 2 * nnames, found) < 0)
            return -1;
        dict_id = found[0];
        for (uint32_t j = 0; j < nnames; j++) {
            ids[j] = found[1 + j];
            keys[j] = found[1 + nnames + j];
        }
    }
    /* Round 1: the attribute references of each node. */
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t e = g->out_off[nodes[i]]; e < g->out_off[nodes[i] + 1];
             e++)
            if (g->out_kind[e] == HS_EDGE_ATTR) {
                HS_ALLOC_GROW(es, ne + 1, alloc);
                es[ne].edge = e;
                es[ne++].slot = i;
            }
    if (slot_args(c, es, ne, &args) < 0) {
        rc = -1;
        goto done;
    }
    {
        uint32_t nd = 0;

        for (uint32_t k = 0; k < ne; k++) {
            for (uint32_t j = 0; j < nnames; j++)
                if (ids[j] && args[k] == ids[j])
                    out[es[k].slot * nnames + j] = es[k].edge;
            if (dict_id && args[k] == dict_id)
                es[nd++] = es[k]; /* keeps the __dict__ references */
        }
        ne = nd;
    }
    /* Round 2: the values of their __dict__s. */
    {
        uint32_t nd = ne, nv = 0;
        struct edge_slot *vs = NULL;
        uint32_t valloc = 0;

        for (uint32_t k = 0; k < nd; k++) {
            uint32_t d = g->out_dst[es[k].edge];

            for (uint32_t e = g->out_off[d]; e < g->out_off[d + 1]; e++)
                if (g->out_kind[e] == HS_EDGE_VALUE) {
                    HS_ALLOC_GROW(vs, nv + 1, valloc);
                    vs[nv].edge = e;
                    vs[nv++].slot = es[k].slot;
                }
        }
        free(args);
        args = NULL;
        if (slot_args(c, vs, nv, &args) < 0)
            rc = -1;
        for (uint32_t k = 0; rc == 0 && k < nv; k++)
            for (uint32_t j = 0; j < nnames; j++)
                if (keys[j] && args[k] == keys[j] &&
                    out[vs[k].slot * nnames + j] == UINT32_MAX)
                    out[vs[k].slot * nnames + j] = vs[k].edge;
        free(vs);
    }
done:
    free(args);
    free(es);
    return rc;
}

/* The outermost _io layer over FileIO v: up through the retaining
 * referrers that are buffer or text layers. */
static uint32_t
outer_file(const struct hs_graph *g, const uint8_t *wrapper, uint32_t v)
{
    for (int hop = 0; hop < 3; hop++) {
        uint32_t up = UINT32_MAX;

        for (uint32_t i = g->in_off[v]; i < g->in_off[v + 1]; i++) {
            uint32_t s = hs_graph_in_src(g, i);

            if (hs_graph_in_retains(g, i) && wrapper[g->type[s]] && s != v) {
                up = s;
                break;
            }
        }
        if (up == UINT32_MAX)
            break;
        v = up;
    }
    return v;
}

/* The referrer of v on its retention path, or UINT32_MAX for a root; the
 * kind of that reference into *kind. */
static uint32_t
holder_of(const struct hs_advise_ctx *c, uint32_t v, uint8_t *kind)
{
    uint32_t e;

    *kind = 0xFF;
    if (!hs_bfs_reached(c->bfs, v) || c->bfs->dist[v] == 0)
        return UINT32_MAX;
    e = c->bfs->parent_edge[v];
    *kind = c->g->out_kind[e];
    return hs_graph_edge_src(c->g, e);
}

/*
 * Open Popens (returncode None, or a pipe among the files of l still
 * open) into l; the files that are their pipes leave the list (kind R_N).
 * 0 or -1 after a read error.  O(Popens x files of l).
 */
static int
find_popens(const struct hs_advise_ctx *c, const uint8_t *tkind,
            struct res_list *l)
{
    static const char *const names[] = { "returncode", "stdin", "stdout",
                                         "stderr" };
    const struct hs_graph *g = c->g;
    uint32_t *nodes = NULL, n = 0, alloc = 0, *edges;
    int rc;

    for (uint32_t v = 0; v < g->n; v++)
        if (tkind[g->type[v]] == R_POPEN && hs_bfs_reached(c->bfs, v)) {
            HS_ALLOC_GROW(nodes, n + 1, alloc);
            nodes[n++] = v;
        }
    if (!n)
        return 0;
    edges = hs_xmalloc((size_t)n * HS_ARRAY_SIZE(names) * sizeof(*edges));
    rc = attr_edges(c, nodes, n, names, HS_ARRAY_SIZE(names), edges);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        uint32_t rce = edges[i * HS_ARRAY_SIZE(names)];
        int open =
            rce != UINT32_MAX &&
            !strcmp(g->types[g->type[g->out_dst[rce]]].name, "NoneType");

        for (uint32_t j = 1; j < HS_ARRAY_SIZE(names); j++) {
            uint32_t e = edges[i * HS_ARRAY_SIZE(names) + j];

            if (e == UINT32_MAX)
                continue;
            /* An open pipe is a file found open: take it over. */
            for (uint32_t k = 0; k < l->n; k++)
                if (l->v[k].kind == R_FILE && l->v[k].node == g->out_dst[e]) {
                    l->v[k].kind = R_N;
                    open = 1;
                }
        }
        if (open)
            res_add(l, R_POPEN, nodes[i]);
    }
    free(edges);
    free(nodes);
    return rc;
}

/*
 * The alive threads (not the main one, nor the one that dumped), each
 * with what only it holds: into l.  0 or -1 after a read error.
 */
static int
find_threads(const struct hs_advise_ctx *c, struct res_list *l)
{
    static const char *const run_args[] = { "_target", "_args", "_kwargs" };
    const struct hs_graph *g = c->g;
    struct hs_fact_thread *t;
    uint32_t nt, *root_thread, *index, *nodes = NULL, n = 0, alloc = 0;
    uint32_t *owner, *stack, top = 0, *edges = NULL, first;
    uint8_t *kept, *skip_edge = NULL;
    int rc = 0;

    if (hs_facts_threads(g, &t, &nt, &root_thread) < 0)
        return -1;
    /* index[i]: the reported thread i is, or UINT32_MAX. */
    index = hs_xmalloc(((size_t)nt + 1) * sizeof(*index));
    for (uint32_t i = 0; i < nt; i++) {
        index[i] = UINT32_MAX;
        if (t[i].node == UINT32_MAX || t[i].is_main || t[i].is_dumper ||
            !hs_bfs_reached(c->bfs, t[i].node))
            continue;
        HS_ALLOC_GROW(nodes, n + 1, alloc);
        index[i] = n;
        nodes[n++] = t[i].node;
    }
    if (!n)
        goto done;
    first = l->n;
    for (uint32_t i = 0; i < n; i++)
        res_add(l, R_THREAD, nodes[i]);
    /* The target and arguments go when run() ends: not kept by the
     * Thread object. */
    edges = hs_xmalloc((size_t)n * HS_ARRAY_SIZE(run_args) * sizeof(*edges));
    rc = attr_edges(c, nodes, n, run_args, HS_ARRAY_SIZE(run_args), edges);
    if (rc < 0)
        goto done;
    skip_edge = hs_xcalloc((size_t)g->m + 1, 1);
    for (uint32_t i = 0; i < n * HS_ARRAY_SIZE(run_args); i++)
        if (edges[i] != UINT32_MAX)
            skip_edge[edges[i]] = 1;
    /* Pass 1: what stays without the reported threads' roots. */
    kept = hs_xcalloc((size_t)g->n + 1, 1);
    stack = hs_xmalloc(((size_t)g->n + 1) * sizeof(*stack));
    for (uint32_t r = 0; r < g->nroots; r++) {
        uint32_t v = g->roots[r].node;

        if ((root_thread[r] != UINT32_MAX &&
             index[root_thread[r]] != UINT32_MAX) ||
            kept[v])
            continue;
        kept[v] = 1;
        stack[top++] = v;
    }
    while (top) {
        uint32_t u = stack[--top];

        for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
            uint32_t w = g->out_dst[e];

            if (kept[w] || skip_edge[e] ||
                !hs_graph_retains(g, g->out_kind[e]))
                continue;
            kept[w] = 1;
            stack[top++] = w;
        }
    }
    /* Pass 2: the rest, by the thread that reaches it (shared when two
     * do); each node changes owner at most twice. */
    owner = hs_xmalloc(((size_t)g->n + 1) * sizeof(*owner));
    for (uint32_t v = 0; v < g->n; v++)
        owner[v] = OWNER_NONE;
    for (uint32_t r = 0; r <= g->nroots + n * HS_ARRAY_SIZE(run_args); r++) {
        uint32_t v, who;

        if (r < g->nroots) {
            if (root_thread[r] == UINT32_MAX ||
                index[root_thread[r]] == UINT32_MAX)
                continue;
            v = g->roots[r].node;
            who = index[root_thread[r]];
        } else if (r - g->nroots < n * HS_ARRAY_SIZE(run_args)) {
            uint32_t k = r - g->nroots;

            if (edges[k] == UINT32_MAX)
                continue;
            v = g->out_dst[edges[k]];
            who = k / HS_ARRAY_SIZE(run_args);
        } else {
            break;
        }
        if (kept[v] || owner[v] == who || owner[v] == OWNER_SHARED)
            continue;
        owner[v] = owner[v] == OWNER_NONE ? who : OWNER_SHARED;
        stack[top++] = v;
        while (top) {
            uint32_t u = stack[--top];

            for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
                uint32_t w = g->out_dst[e];

                if (kept[w] || owner[w] == owner[u] ||
                    owner[w] == OWNER_SHARED ||
                    !hs_graph_retains(g, g->out_kind[e]))
                    continue;
                owner[w] = owner[w] == OWNER_NONE ? owner[u] : OWNER_SHARED;
                stack[top++] = w;
            }
        }
    }
    for (uint32_t v = 0; v < g->n; v++)
        if (owner[v] < n)
            l->v[first + owner[v]].bytes +=
                g->size[v] + hs_advise_values_extra(c, v);
    free(owner);
    free(stack);
    free(kept);
done:
    free(skip_edge);
    free(edges);
    free(nodes);
    free(index);
    free(root_thread);
    free(t);
    return rc;
}

static int
by_group(const void *a, const void *b)
{
    const struct resource *x = a, *y = b;

    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    if (x->holder_type != y->holder_type)
        return x->holder_type < y->holder_type ? -1 : 1;
    if (x->edge_kind != y->edge_kind)
        return x->edge_kind < y->edge_kind ? -1 : 1;
    if (x->site != y->site)
        return x->site < y->site ? -1 : 1;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

/* One finding for the resources r[0 .. n) of one group. */
static void
finding(const struct hs_advise_ctx *c, const struct resource *r, uint32_t n,
        struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint64_t bytes = 0, mapped = 0;
    char n1[32], s1[32], tname[256];
    struct hs_buf basis = HS_BUF_INIT;

    for (uint32_t i = 0; i < n; i++) {
        bytes += r[i].bytes;
        mapped += r[i].mapped;
    }
    if (bytes < c->min_bytes)
        return;
    hs_group_digits(n, n1, sizeof(n1));
    hs_type_display_name(&g->types[g->type[r->node]], tname, sizeof(tname));
    if (r->kind == R_THREAD)
        hs_buf_addf(&basis,
                    "what only the %s threads' frames hold, with their "
                    "targets and arguments (Thread.run drops them when it "
                    "ends)",
                    n1);
    else
        hs_buf_addf(&basis,
                    "retained size of the %s objects (what closing and "
                    "dropping them frees)",
                    n1);
    if (mapped)
        hs_buf_addf(&basis, ", plus %s mapped (resident once touched)",
                    hs_human_size(mapped, s1, sizeof(s1)));
    hs_advice_add(
        list, "open_resources", bytes, n, g->type[r->node], r->node,
        hs_xasprintf("%s %s (%s)", n1,
                     n == 1 ? res_text[r->kind].one : res_text[r->kind].what,
                     tname),
        hs_xstrdup(res_text[r->kind].fix), hs_buf_detach(&basis))
        ->opened_at = r->site;
}

int
hs_advise_resources(const struct hs_advise_ctx *c, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint8_t *tkind = hs_xmalloc((size_t)g->ntypes + 1);
    uint8_t *wrapper = hs_xcalloc((size_t)g->ntypes + 1, 1);
    uint32_t *valued = hs_xmalloc(((size_t)g->ntypes + 1) * sizeof(*valued));
    uint32_t nvalued = 0, *stack = NULL, alloc = 0;
    struct res_list l = { NULL, 0, 0 };
    struct scan s = { g, tkind, &l };
    int rc;

    for (uint32_t k = 0; k < g->ntypes; k++) {
        int w;

        tkind[k] = type_kind(&g->types[k], &w);
        wrapper[k] = (uint8_t)w;
        if (tkind[k] != R_NONE && tkind[k] != R_POPEN)
            valued[nvalued++] = k;
    }
    rc = hs_facts_each_value(g, valued, nvalued, scan_value, &s);
    /* Files: their outermost layer, reached from a root. */
    for (uint32_t i = 0; rc == 0 && i < l.n; i++) {
        if (l.v[i].kind == R_FILE)
            l.v[i].node = outer_file(g, wrapper, l.v[i].node);
        if (!hs_bfs_reached(c->bfs, l.v[i].node))
            l.v[i].kind = R_N;
    }
    if (rc == 0)
        rc = find_popens(c, tkind, &l);
    for (uint32_t i = 0; rc == 0 && i < l.n; i++)
        if (l.v[i].kind < R_N)
            l.v[i].bytes =
                c->dom->retained[l.v[i].node] +
                hs_advise_subtree_extra(c, l.v[i].node, &stack, &alloc) +
                l.v[i].mapped;
    if (rc == 0)
        rc = find_threads(c, &l);
    for (uint32_t i = 0; rc == 0 && i < l.n; i++) {
        uint32_t h = holder_of(c, l.v[i].node, &l.v[i].edge_kind);

        l.v[i].holder_type = h == UINT32_MAX ? UINT32_MAX : g->type[h];
        l.v[i].type = g->type[l.v[i].node];
        l.v[i].site = c->sites ? hs_sites_site(c->sites, l.v[i].node) : 0;
    }
    if (rc == 0 && l.n) {
        qsort(l.v, l.n, sizeof(*l.v), by_group);
        for (uint32_t i = 0, j; i < l.n; i = j) {
            for (j = i + 1; j < l.n && l.v[j].kind == l.v[i].kind &&
                            l.v[j].type == l.v[i].type &&
                            l.v[j].holder_type == l.v[i].holder_type &&
                            l.v[j].edge_kind == l.v[i].edge_kind &&
                            l.v[j].site == l.v[i].site;
                 j++)
                ;
            if (l.v[i].kind < R_N)
                finding(c, l.v + i, j - i, list);
        }
    }
    free(l.v);
    free(stack);
    free(valued);
    free(wrapper);
    free(tkind);
    return rc;
}
