/*
 * picture.h: the picture model and its Graphviz renderer.  Commands that
 * draw part of the heap (refs, backrefs, why, cycles) fill a struct
 * hs_picture with nodes, edges and "N more references" counts; render_dot.c
 * turns it into DOT, SVG, PNG or PDF in objgraph's visual language
 * (DESIGN.md).  The model knows nothing of Graphviz, the renderer nothing
 * of snapshots.
 *
 * Owns copies of every string it is given, in an arena of 64 KiB chunks.
 * Invariants: node keys are unique and match [A-Za-z_][A-Za-z0-9_]* (they
 * become DOT node names and SVG ids; the renderer's helper nodes contain a
 * '.', so they never collide); every edge joins two nodes of the picture;
 * at most max_nodes nodes and max_edges edges.  What the caps refused is
 * counted (nodes_refused, edges_refused) for the command to report.
 */
#ifndef HS_PICTURE_H
#define HS_PICTURE_H

#include "heapsnap.h"
#include "graph.h"

/* Role flags of a node (struct hs_picture_node.flags). */
#define HS_PIC_TARGET      0x01u /* asked about: red text, red border */
#define HS_PIC_HIGHLIGHT   0x02u /* highlighted: blue fill */
#define HS_PIC_MODULE      0x04u /* a module: green fill */
#define HS_PIC_HAS_DEL     0x08u /* its type defines __del__: a marker */
#define HS_PIC_UNREACHABLE 0x10u /* no path from a root: dashed border */
#define HS_PIC_EXTERNAL    0x20u /* held from outside the Python heap */

/* A retained size that was not computed. */
#define HS_PIC_UNKNOWN UINT64_MAX

/* No picture is more than this many times as long as it is wide (or the
 * other way round), nor longer than this many points on a side (render_dot.c
 * keeps them: a layout direction, a stretch, a scale). */
#define HS_PICTURE_MAX_ASPECT 10.0
#define HS_PICTURE_MAX_SIDE 30000

/* Default caps: see render_dot.c for the layout limits they respect. */
#define HS_PICTURE_MAX_NODES      1000
#define HS_PICTURE_EDGES_PER_NODE 3

/*
 * Which way the picture's edges run away from the objects asked about.
 * The renderer layers the picture by a BFS in that direction
 * (hs_picture_layers()); only edges from one layer to the next may move
 * nodes, which keeps `dot` fast on dense pictures.
 */
enum hs_picture_dir {
    HS_PIC_DIR_NONE,    /* depth says nothing about edges (cycles) */
    HS_PIC_DIR_REFS,    /* edges run from depth d to d + 1 (refs) */
    HS_PIC_DIR_BACKREFS /* edges run from depth d + 1 to d (backrefs, why) */
};

/*
 * One object of the picture.  Callers fill one (start from
 * HS_PICTURE_NODE_INIT) and pass it to hs_picture_add_node(), which copies
 * the strings into the picture's arena.  Callers may change the numbers and
 * flags of p->nodes[i] in place later (not the strings or the key).
 */
struct hs_picture_node {
    const char *key;       /* "o42": DOT name and SVG id (see above) */
    const char *type_name; /* first label line, e.g. "dict" or "mod.Foo" */
    const char *value;     /* short value text ("3 items", "'abc'"), or NULL */
    int64_t object_id;     /* objects.id, for the viewer URL; -1 for none */
    uint64_t address;      /* id(obj) in the process, or 0 when unknown */
    uint64_t size;         /* shallow size in bytes */
    uint64_t retained;     /* retained size, or HS_PIC_UNKNOWN */
    int64_t refcount;      /* ob_refcnt, or -1 when unknown */
    uint32_t depth;        /* distance from the objects asked about */
    int root_kind;         /* enum hs_root_kind if a root, else -1 */
    unsigned flags;        /* HS_PIC_* */
    uint64_t more_refs;    /* references not drawn ("N more references") */
    uint64_t more_backrefs; /* backreferences not drawn */
    const char *site;      /* allocation site "FILE:LINE in F", or NULL */
};

#define HS_PICTURE_NODE_INIT                                                 \
    {                                                                        \
        NULL, NULL, NULL, -1, 0, 0, HS_PIC_UNKNOWN, -1, 0, -1, 0, 0, 0, NULL \
    }

/* One reference between two nodes of the picture. */
struct hs_picture_edge {
    uint32_t from; /* referrer, a node index */
    uint32_t to;   /* referent, a node index */
    /* Exact label (".name", "['key']", "[3]") in the arena, or NULL. */
    const char *label;
    uint8_t kind;   /* enum hs_edge_kind */
    uint8_t weak;   /* 1 if it does not retain (drawn dashed) */
    uint8_t weight; /* dot edge weight, from the kind */
};

struct hs_picture {
    char *title;             /* drawn above the picture, or NULL; owned */
    char *url_base;          /* nodes link to <url_base>/object/<id>; owned */
    int legend;              /* 1 to draw a legend */
    enum hs_picture_dir dir; /* how depth relates to edges (layers) */
    uint32_t max_depth;      /* depth drawn darkest; 0: the deepest node's */
    /* Graphviz engine to force ("dot", "sfdp"; a static string), or NULL
     * to choose by size. */
    const char *layout;
    uint32_t timeout_ms; /* limit on laying out and rendering; 0: 60 s */

    uint32_t max_nodes;     /* cap on nnodes */
    uint32_t max_edges;     /* cap on nedges */
    uint64_t nodes_refused; /* hs_picture_add_node() calls the cap refused */
    uint64_t edges_refused; /* hs_picture_add_edge() calls the cap refused */

    struct hs_picture_node *nodes; /* nnodes nodes, in insertion order */
    uint32_t nnodes;
    uint32_t nodes_alloc;
    struct hs_picture_edge *edges; /* nedges edges, in insertion order */
    uint32_t nedges;
    uint32_t edges_alloc;

    /* Key index: open addressing, node index + 1 per slot, 0 if empty. */
    uint32_t *slots;
    uint32_t nslots; /* a power of two, or 0 before the first node */

    char **chunks; /* the string arena: every copied string */
    size_t nchunks;
    size_t chunks_alloc;
    size_t chunk_used; /* bytes used in chunks[nchunks - 1] */
    size_t chunk_size; /* its size */
};

/* ---- the model (picture.c) ---------------------------------------------- */

/*
 * Initializes an empty picture that holds at most `max_nodes` nodes (0: the
 * default HS_PICTURE_MAX_NODES) and HS_PICTURE_EDGES_PER_NODE times as many
 * edges; callers may change max_edges before adding edges.  Direction
 * HS_PIC_DIR_NONE, no title, no URLs, no legend.  Allocates nothing.
 */
void hs_picture_init(struct hs_picture *p, uint32_t max_nodes);

/* Frees everything the picture holds; it is empty (caps kept) afterwards. */
void hs_picture_release(struct hs_picture *p);

/* Replace the title / URL base (copied; NULL clears).  Can't fail. */
void hs_picture_set_title(struct hs_picture *p, const char *title);
void hs_picture_set_url_base(struct hs_picture *p, const char *url_base);

/* The index of the node with this key, or -1.  O(1) expected. */
int64_t hs_picture_find(const struct hs_picture *p, const char *key);

/*
 * Adds a copy of `node` (its strings are copied) and stores its index in
 * *index (OUT, may be NULL).  Returns 0 when added; 1 when the picture is
 * full, which is not an error: nothing is printed, nodes_refused grows, and
 * the caller should count the object in its referrer's more_refs (or
 * more_backrefs) instead; -1 after an error (exit 5: a key that is empty,
 * malformed or already present, or a NULL type name).  Amortized O(1).
 */
int hs_picture_add_node(struct hs_picture *p,
                        const struct hs_picture_node *node, uint32_t *index);

/*
 * Adds the reference from -> to with `label` (copied; NULL for none).  The
 * weight comes from the kind (hs_picture_kind_weight()); `weak` marks a
 * reference that does not retain its target (hs_graph_retains() says).
 * Parallel edges are kept.  Returns 0 when added, 1 when the edge cap
 * refused it (edges_refused grows, nothing printed), -1 after an error
 * (exit 5: a node index out of range).  Amortized O(1).
 */
int hs_picture_add_edge(struct hs_picture *p, uint32_t from, uint32_t to,
                        const char *label, enum hs_edge_kind kind, int weak);

/*
 * Adds `count` to the references (HS_PIC_DIR_REFS) or backreferences
 * (HS_PIC_DIR_BACKREFS) of node `node` that the picture does not show.
 * Returns 0, or -1 after an error (exit 5: bad index or direction).
 */
int hs_picture_add_more(struct hs_picture *p, uint32_t node,
                        enum hs_picture_dir dir, uint64_t count);

/*
 * objgraph's edge weights, so that dot keeps structural links short:
 * 10 for attributes, __class__, cells and closures, 2 for dict keys and
 * values and locals, 1 for everything else.
 */
uint8_t hs_picture_kind_weight(enum hs_edge_kind kind);

/*
 * Layers for drawing (render_dot.c lets only edges from one layer to the
 * next decide `dot`'s ranks): a BFS over the edges, forward or, for
 * HS_PIC_DIR_BACKREFS, backward, from all depth-0 nodes at once; then from
 * each node not yet reached, in insertion order, through unreached nodes.
 * Writes layer[v] for every node (OUT: nnodes entries).  O(n + m) time and
 * 4 (2n + m) bytes of scratch; an explicit queue, no recursion.
 */
void hs_picture_layers(const struct hs_picture *p, uint32_t *layer);

/* 1 if a cap refused anything. */
static inline int
hs_picture_was_cut(const struct hs_picture *p)
{
    return p->nodes_refused || p->edges_refused;
}

/* ---- rendering (render_dot.c, the only file that includes Graphviz) ----- */

/* Output formats, chosen by the file name's extension. */
enum hs_render_format {
    HS_RENDER_DOT, /* .dot or .gv: the DOT text, no layout */
    HS_RENDER_SVG, /* .svg */
    HS_RENDER_PNG, /* .png */
    HS_RENDER_PDF  /* .pdf */
};

/*
 * The format that `path` asks for, by its extension (case-insensitive).
 * Returns 0, or -1 after a usage error (exit 2) naming the supported
 * extensions.
 */
int hs_render_dot_format(const char *path, enum hs_render_format *format);

/*
 * Checks early, before a command does its work, that `path` has a known
 * extension and that Graphviz can produce it here: for laid-out formats,
 * that the "dot" layout and the format's renderer plugins load.  Returns 0,
 * or -1 after an error (exit 2 for the extension, 4 when Graphviz's plugins
 * are missing, with the likely cause).
 */
int hs_render_dot_check(const char *path);

/*
 * The Graphviz layout engine the renderer will use for `p` ("dot" or
 * "sfdp"), or NULL when the picture is too big to lay out within the limits
 * documented in render_dot.c (or p->layout names another engine).  Depends
 * only on what would be drawn (nodes, edges, helper boxes, legend) and
 * p->layout, not on the plugins present.  O(nodes + edges).
 */
const char *hs_render_dot_engine(const struct hs_picture *p);

/*
 * The DOT text of `p`, malloc'd and NUL-terminated, its length in *len
 * (OUT, may be NULL).  Needs no Graphviz plugins.  Returns NULL after an
 * error (exit 5).  O(nodes + edges).
 */
char *hs_render_dot_text(const struct hs_picture *p, size_t *len);

/*
 * Appends `p` in `format` to `out`: the DOT text, or the picture laid out
 * by the Graphviz libraries in a forked child process (never by running
 * `dot`; isolate.h), killed after p->timeout_ms.  `what` names the
 * picture in error messages.  Returns 0, or -1 after an error: exit 2 for
 * a picture too big to lay out (or to lay out in time), 4 for missing
 * Graphviz plugins, 5 when Graphviz fails or crashes.  Time: see
 * render_dot.c; memory: the rendered bytes.
 */
int hs_render_dot_data(const struct hs_picture *p,
                       enum hs_render_format format, const char *what,
                       struct hs_buf *out);

/*
 * Writes `p` to `path` in the format its extension names, rendered by
 * hs_render_dot_data().  The bytes go to PATH.tmp (mode 0600:
 * pictures show heap values), are synced, and the file is renamed to PATH;
 * after a failure PATH is as it was and PATH.tmp is gone.  Returns 0, or -1
 * after an error: exit 2 for an unknown extension or a picture too big to
 * lay out (or to lay out in time), 4 for I/O errors (naming the file) and
 * missing Graphviz plugins, 5 when Graphviz fails or crashes.  Time: see
 * render_dot.c.
 */
int hs_render_dot_file(const struct hs_picture *p, const char *path);

#endif /* HS_PICTURE_H */
