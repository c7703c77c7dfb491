/*
 * export_chrome.h: a loaded heap written as V8's heap snapshot JSON (the
 * .heapsnapshot files of Chrome DevTools' Memory panel, Node.js and
 * MemLab), streamed to a file descriptor.
 *
 * The mapping, documented in README.md ("export"):
 *  - node 0 is a synthetic root with one edge to each root of the
 *    snapshot (g->roots, every kind, named as `why` names roots); node
 *    v + 1 is heapsnap's node v, with node id = heapsnap's object id, so
 *    DevTools' "@42" is `heapsnap show @42`;
 *  - node types: str is "string" (named by its value), int, float, bool
 *    and complex are "number" ("int 42"), functions "closure" (their
 *    name), code objects "code"; everything else is "object", named by its
 *    qualified type, followed by its value for the objects whose value
 *    names them (modules, classes, builtin functions);
 *  - self_size is the snapshot's shallow size;
 *  - edge types: a reference that never retains (weak) is "weak";
 *    positions (item, set element) are "element" with the index;
 *    attributes, dict values and cells are "property"; frame locals and
 *    closure variables "context"; keys, class and unnamed references
 *    "internal".  Names are heapsnap's labels (".name" without its dot).
 *
 * Memory: the string table (every distinct name, once) and one row of
 * output buffer; nodes and edges are written as they are read.  Cost:
 * O(n + m) plus one ordered scan of objects and of edge_list.
 */
#ifndef HS_EXPORT_CHROME_H
#define HS_EXPORT_CHROME_H

#include "heap.h"

/* What an export wrote. */
struct hs_export_stats {
    uint64_t nodes;   /* nodes written, the synthetic root included */
    uint64_t edges;   /* edges written, the root's included */
    uint64_t strings; /* entries of the string table */
    uint64_t bytes;   /* bytes written */
};

/*
 * Writes the heap `h` (graph and naming loaded) as V8 heap snapshot JSON
 * to `fd`; `what` names the destination in error messages.  Fills `st`.
 * Returns 0, or -1 after an error (exit 4 for a failed write or read of
 * the snapshot, 3 for an object id too big for the format's 32-bit
 * numbers).  Does not close fd.
 */
int hs_export_chrome(struct hs_heap *h, int fd, const char *what,
                     struct hs_export_stats *st);

#endif /* HS_EXPORT_CHROME_H */
