/*
 * objspec.h: what OBJ means on the command line, the same way in every
 * command:
 *   0x7f3a2c1d5e10   an address (id(obj) in the process), in hex
 *   140234567890     an address in decimal
 *   @1234            a snapshot object id (objects.id)
 *   Foo, mod.Foo     every instance of a type, by name or qualified name
 */
#ifndef HS_OBJSPEC_H
#define HS_OBJSPEC_H

#include "graph.h"

struct hs_objset {
    uint32_t *nodes; /* matching nodes, ascending */
    uint32_t n;      /* how many */
    int is_type;     /* OBJ named a type: nodes are its instances */
    uint32_t type;   /* that type (index into g->types) when is_type */
};

/*
 * Resolves `spec`.  Returns 0, or -1 after an error: exit 1 when nothing
 * matches ("heapsnap: error: no object matches 'X'"), exit 2 when a short
 * type name is ambiguous (the candidates are listed on stderr).
 */
int hs_objspec_resolve(struct hs_graph *g, const char *spec,
                       struct hs_objset *out);

/*
 * Resolves `n` specs into one set: the union of their objects, each once,
 * ascending; a type's set (is_type) only when n is 1.  0, or -1 after the
 * first spec's error (as hs_objspec_resolve()).  O(nodes) beside the
 * specs' own costs.
 */
int hs_objspec_resolve_all(struct hs_graph *g, const char *const *specs, int n,
                           struct hs_objset *out);

void hs_objset_release(struct hs_objset *set);

/*
 * The type a type name names (index into g->types), whether or not it has
 * instances.  0, or -1 after the errors of hs_objspec_resolve().
 */
int hs_objspec_type(struct hs_graph *g, const char *spec, uint32_t *type);

/* 1 if spec is an address or an object id rather than a type name. */
int hs_objspec_is_object(const char *spec);

#endif /* HS_OBJSPEC_H */
