/*
 * picture.c: the picture model of picture.h: nodes and edges that commands
 * add one at a time, a key index, the caps, the string arena, and the
 * layers the renderer draws by.
 *
 * Owns the node, edge and slot arrays and the arena chunks; nothing here
 * knows about Graphviz or snapshots.  Invariants: slots has at least twice
 * as many entries as there are nodes (so linear probing stays short), every
 * node's key is in it exactly once, and nnodes <= max_nodes,
 * nedges <= max_edges.  Memory: 96 bytes per node plus 8-16 for the index,
 * 24 per edge, plus the strings.
 */
#include "picture.h"

#include <string.h>

/* Arena strings go into chunks of this size; longer strings get their own. */
#define ARENA_CHUNK ((size_t)64 * 1024)

void
hs_picture_init(struct hs_picture *p, uint32_t max_nodes)
{
    memset(p, 0, sizeof(*p));
    p->dir = HS_PIC_DIR_NONE;
    p->max_nodes = max_nodes ? max_nodes : HS_PICTURE_MAX_NODES;
    p->max_edges = p->max_nodes > UINT32_MAX / HS_PICTURE_EDGES_PER_NODE
                       ? UINT32_MAX
                       : p->max_nodes * HS_PICTURE_EDGES_PER_NODE;
}

void
hs_picture_release(struct hs_picture *p)
{
    uint32_t max_nodes = p->max_nodes, max_edges = p->max_edges;

    for (size_t i = 0; i < p->nchunks; i++)
        free(p->chunks[i]);
    free(p->chunks);
    free(p->nodes);
    free(p->edges);
    free(p->slots);
    free(p->title);
    free(p->url_base);
    hs_picture_init(p, max_nodes);
    p->max_edges = max_edges;
}

static void
replace_string(char **field, const char *value)
{
    free(*field);
    *field = value ? hs_xstrdup(value) : NULL;
}

void
hs_picture_set_title(struct hs_picture *p, const char *title)
{
    replace_string(&p->title, title);
}

void
hs_picture_set_url_base(struct hs_picture *p, const char *url_base)
{
    replace_string(&p->url_base, url_base);
}

/*
 * A copy of `s` in the arena, valid until hs_picture_release(); NULL for
 * NULL.  Amortized O(len): a chunk is allocated per ARENA_CHUNK bytes.
 */
static const char *
arena_strdup(struct hs_picture *p, const char *s)
{
    size_t need;
    char *dst;

    if (!s)
        return NULL;
    need = hs_st_add(strlen(s), 1);
    if (!p->nchunks || p->chunk_size - p->chunk_used < need) {
        size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;

        HS_ALLOC_GROW(p->chunks, p->nchunks + 1, p->chunks_alloc);
        p->chunks[p->nchunks++] = hs_xmalloc(size);
        p->chunk_size = size;
        p->chunk_used = 0;
    }
    dst = p->chunks[p->nchunks - 1] + p->chunk_used;
    memcpy(dst, s, need);
    p->chunk_used += need;
    return dst;
}

/* FNV-1a: keys are short and similar ("o1234"), which it spreads well. */
static uint32_t
key_hash(const char *key)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *s = (const unsigned char *)key; *s; s++) {
        h ^= *s;
        h *= 16777619u;
    }
    return h;
}

int64_t
hs_picture_find(const struct hs_picture *p, const char *key)
{
    uint32_t mask, i;

    if (!p->nslots || !key)
        return -1;
    mask = p->nslots - 1;
    for (i = key_hash(key) & mask; p->slots[i]; i = (i + 1) & mask) {
        uint32_t node = p->slots[i] - 1;

        if (!strcmp(p->nodes[node].key, key))
            return node;
    }
    return -1;
}

/* Puts node `node` into the key index, which has a free slot. */
static void
slot_insert(struct hs_picture *p, uint32_t node)
{
    uint32_t mask = p->nslots - 1;
    uint32_t i = key_hash(p->nodes[node].key) & mask;

    while (p->slots[i])
        i = (i + 1) & mask;
    p->slots[i] = node + 1;
}

/* Keeps the load factor at or below 1/2; rehashing is O(nnodes). */
static void
slots_reserve(struct hs_picture *p, uint32_t nodes)
{
    uint64_t want = p->nslots ? p->nslots : 64;

    while (want < (uint64_t)nodes * 2)
        want *= 2;
    if (want == p->nslots)
        return;
    free(p->slots);
    p->slots = hs_xcalloc((size_t)want, sizeof(*p->slots));
    p->nslots = (uint32_t)want;
    for (uint32_t v = 0; v < p->nnodes; v++)
        slot_insert(p, v);
}

/* Node keys become bare DOT identifiers and SVG ids: [A-Za-z_][A-Za-z0-9_]* */
static int
key_is_valid(const char *key)
{
    if (!key || !*key || (*key >= '0' && *key <= '9'))
        return 0;
    for (const char *s = key; *s; s++) {
        int c = (unsigned char)*s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '_';

        if (!ok)
            return 0;
    }
    return 1;
}

int
hs_picture_add_node(struct hs_picture *p, const struct hs_picture_node *node,
                    uint32_t *index)
{
    struct hs_picture_node *n;

    if (!key_is_valid(node->key))
        return hs_error(HS_EXIT_INTERNAL,
                        "picture node key '%s' is not [A-Za-z_][A-Za-z0-9_]*",
                        node->key ? node->key : "(null)");
    if (!node->type_name)
        return hs_error(HS_EXIT_INTERNAL, "picture node '%s' has no type",
                        node->key);
    if (hs_picture_find(p, node->key) >= 0)
        return hs_error(HS_EXIT_INTERNAL, "picture node '%s' added twice",
                        node->key);
    if (p->nnodes >= p->max_nodes) {
        p->nodes_refused++;
        return 1;
    }
    HS_ALLOC_GROW(p->nodes, (size_t)p->nnodes + 1, p->nodes_alloc);
    slots_reserve(p, p->nnodes + 1);
    n = &p->nodes[p->nnodes];
    *n = *node;
    n->key = arena_strdup(p, node->key);
    n->type_name = arena_strdup(p, node->type_name);
    n->value = arena_strdup(p, node->value);
    n->site = arena_strdup(p, node->site);
    slot_insert(p, p->nnodes);
    if (index)
        *index = p->nnodes;
    p->nnodes++;
    return 0;
}

uint8_t
hs_picture_kind_weight(enum hs_edge_kind kind)
{
    switch (kind) {
    case HS_EDGE_ATTR:
    case HS_EDGE_CLASS:
    case HS_EDGE_CELL:
    case HS_EDGE_CLOSURE:
        return 10;
    case HS_EDGE_VALUE:
    case HS_EDGE_KEY:
    case HS_EDGE_LOCAL:
        return 2;
    default:
        return 1;
    }
}

int
hs_picture_add_edge(struct hs_picture *p, uint32_t from, uint32_t to,
                    const char *label, enum hs_edge_kind kind, int weak)
{
    struct hs_picture_edge *e;

    if (from >= p->nnodes || to >= p->nnodes)
        return hs_error(HS_EXIT_INTERNAL,
                        "picture edge %u -> %u: no such node (%u nodes)", from,
                        to, p->nnodes);
    if (p->nedges >= p->max_edges) {
        p->edges_refused++;
        return 1;
    }
    HS_ALLOC_GROW(p->edges, (size_t)p->nedges + 1, p->edges_alloc);
    e = &p->edges[p->nedges++];
    e->from = from;
    e->to = to;
    e->label = arena_strdup(p, label);
    e->kind = (uint8_t)kind;
    e->weak = weak ? 1 : 0;
    e->weight = hs_picture_kind_weight(kind);
    return 0;
}

int
hs_picture_add_more(struct hs_picture *p, uint32_t node,
                    enum hs_picture_dir dir, uint64_t count)
{
    uint64_t *field;

    if (node >= p->nnodes)
        return hs_error(HS_EXIT_INTERNAL, "picture node %u: no such node",
                        node);
    if (dir == HS_PIC_DIR_REFS)
        field = &p->nodes[node].more_refs;
    else if (dir == HS_PIC_DIR_BACKREFS)
        field = &p->nodes[node].more_backrefs;
    else
        return hs_error(HS_EXIT_INTERNAL, "picture: 'more' needs a direction");
    /* Saturate rather than wrap: the count is only ever shown. */
    *field = count > UINT64_MAX - *field ? UINT64_MAX : *field + count;
    return 0;
}

/*
 * See picture.h.  The edges are first sorted into a CSR by their tail in
 * the walking direction (a counting sort), so the BFS reads each node's
 * successors contiguously.
 */
void
hs_picture_layers(const struct hs_picture *p, uint32_t *layer)
{
    uint32_t n = p->nnodes, m = p->nedges;
    int back = p->dir == HS_PIC_DIR_BACKREFS;
    uint32_t *off = hs_xcalloc((size_t)n + 1, sizeof(*off));
    uint32_t *adj = hs_xmalloc(hs_st_mult(m ? m : 1, sizeof(*adj)));
    uint32_t *queue = hs_xmalloc(hs_st_mult(n ? n : 1, sizeof(*queue)));
    uint32_t head = 0, tail = 0;

    for (uint32_t e = 0; e < m; e++)
        off[(back ? p->edges[e].to : p->edges[e].from) + 1]++;
    for (uint32_t v = 0; v < n; v++)
        off[v + 1] += off[v];
    for (uint32_t e = 0; e < m; e++) {
        uint32_t src = back ? p->edges[e].to : p->edges[e].from;

        /* off[src] runs ahead while filling; shifted back below. */
        adj[off[src]++] = back ? p->edges[e].from : p->edges[e].to;
    }
    for (uint32_t v = n; v > 0; v--)
        off[v] = off[v - 1];
    off[0] = 0;

    for (uint32_t v = 0; v < n; v++) {
        layer[v] = p->nodes[v].depth ? UINT32_MAX : 0;
        if (!p->nodes[v].depth)
            queue[tail++] = v;
    }
    /* Drain the queue; then seed it with the first node not reached. */
    for (uint32_t s = 0;;) {
        while (head < tail) {
            uint32_t v = queue[head++];

            for (uint32_t i = off[v]; i < off[v + 1]; i++) {
                if (layer[adj[i]] == UINT32_MAX) {
                    layer[adj[i]] = layer[v] + 1;
                    queue[tail++] = adj[i];
                }
            }
        }
        while (s < n && layer[s] != UINT32_MAX)
            s++;
        if (s == n)
            break;
        layer[s] = 0;
        queue[tail++] = s;
    }
    free(queue);
    free(adj);
    free(off);
}
