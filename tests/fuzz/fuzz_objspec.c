/*
 * fuzz_objspec.c: libFuzzer target for the OBJ parser (objspec.h), the
 * one piece of text every command takes from the command line: addresses
 * in hex and decimal, @ids, type names short and qualified.  Each input,
 * as a string, is resolved against a loaded heap (the test fixture, named
 * by HEAPSNAP_FUZZ_SNAPSHOT; tests/fuzz/run.sh builds it) as an object
 * set and as a type, and parsed as a number.  Any outcome but a crash, a
 * sanitizer report or a leak is fine.
 */
#include "heap.h"
#include "objspec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hs_heap heap; /* the fixture, loaded once */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("HEAPSNAP_FUZZ_SNAPSHOT");

    (void)argc;
    (void)argv;
    if (!path || hs_heap_open(&heap, path, HS_HEAP_READONLY) < 0) {
        fprintf(stderr, "fuzz_objspec: HEAPSNAP_FUZZ_SNAPSHOT must name a "
                        "snapshot\n");
        exit(2);
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = hs_xstrndup((const char *)data, size);
    struct hs_objset set = { NULL, 0, 0, 0 };
    uint32_t type;
    uint64_t u;

    if (hs_objspec_resolve(heap.g, spec, &set) == 0) {
        /* The contract: nodes ascending, in range. */
        for (uint32_t i = 0; i < set.n; i++)
            if (set.nodes[i] >= heap.g->n ||
                (i && set.nodes[i] <= set.nodes[i - 1]))
                abort();
        if (set.is_type && set.type >= heap.g->ntypes)
            abort();
    }
    hs_objset_release(&set);
    if (hs_objspec_type(heap.g, spec, &type) == 0 && type >= heap.g->ntypes)
        abort();
    hs_objspec_is_object(spec);
    hs_parse_u64(spec, &u);
    hs_error_reset();
    free(spec);
    return 0;
}
