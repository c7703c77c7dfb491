-- heapsnap snapshot format, version 1.
--
-- One SQLite file holds one snapshot of one Python heap.  This file is the
-- single source of truth: it is compiled into the agent (which creates the
-- tables) and into the inspector (which checks application_id and
-- user_version before it reads anything).
--
-- Plain SQL answers plain questions, for example the ten biggest types:
--   SELECT t.module || '.' || t.name, count(*), sum(o.size)
--     FROM objects o JOIN types t ON t.id = o.type_id
--    GROUP BY t.id ORDER BY 3 DESC LIMIT 10;
--
-- Ids are dense integers starting at 1; every *_id column refers to objects.id
-- unless its comment says otherwise.  The agent bulk-loads without indexes;
-- the inspector never needs them because it loads the graph into memory.

PRAGMA application_id = 1213419088;  -- 0x48534E50, 'HSNP'
PRAGMA user_version = 1;             -- bump on any incompatible change

-- Facts about the process and the dump, one row per fact.  Keys written by
-- the agent: format_version, agent_version, python_version,
-- python_implementation, python_executable, pid, argv (JSON array),
-- created_at (ISO 8601, UTC), created_unix, trigger (api, exit, signal,
-- attach, fork), attach_method (with trigger attach: ptrace, or pep768 for
-- CPython's remote debugging), gc_enabled, gc_thresholds and gc_counts (JSON
-- arrays), gc_collections (JSON array: collections of each generation since
-- start, as gc.get_stats() says; added in format 1), gc_collected (1 when
-- --collect ran gc.collect() first), redacted, value_limit, pointer_size,
-- page_size (the process's memory page, bytes; added in format 1),
-- object_count, edge_count, root_count,
-- dump_seconds, walk_seconds, output_thread (1 when the rows were made on
-- a second thread while the walk went on, 0 when on the walking thread),
-- alloc_sites (1 when tracemalloc traced the
-- process and the allocation-site tables below are filled, 0 when it did
-- not), alloc_traced_objects and alloc_untraced_objects (objects with and
-- without a traceback: the latter were allocated before tracing began, or
-- statically), alloc_max_frames (longest traceback), alloc_sites_seconds.
-- Tables added later by the inspector record
-- themselves here too (derived_retained, ...).
--
-- Memory outside the objects, read just before the walk (bytes; a key is
-- absent when its source could not be read, and snapshots of older agents
-- have only rss_bytes; `heapsnap info` reconciles them with the objects'
-- total):
--   rss_bytes, rss_peak_bytes          VmRSS, VmHWM of /proc/self/status
--   rss_anon_bytes, rss_file_bytes,    RSS by kind of page (RssAnon,
--   rss_shmem_bytes                    RssFile, RssShmem)
--   pymalloc_arenas,                   pymalloc's arenas and their bytes,
--   pymalloc_arena_bytes,              and the bytes in allocated blocks
--   pymalloc_used_bytes                (CPython's _PyObject_DebugMallocStats;
--                                      absent when pymalloc is off or hooked,
--                                      as tracemalloc does)
--   malloc_heap_bytes,                 glibc mallinfo2(): arena + hblkhd,
--   malloc_used_bytes,                 uordblks + hblkhd, fordblks
--   malloc_free_bytes
--   tracemalloc_traced_bytes           tracemalloc's traced total, when it
--                                      was tracing
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,  -- fact name
    value                    -- fact value (text, integer or real)
) WITHOUT ROWID;

-- Every Python type that is the type of some object in the snapshot.  A
-- type is itself an object: types.id is the objects.id of the type object,
-- so "objects.type_id = types.id" joins both ways.
CREATE TABLE types (
    id        INTEGER PRIMARY KEY,  -- objects.id of the type object
    name      TEXT NOT NULL,        -- __name__, e.g. 'OrderedDict'
    module    TEXT,                 -- __module__, e.g. 'collections'
    qualname  TEXT,                 -- __qualname__, e.g. 'Outer.Inner'
    flags     INTEGER NOT NULL      -- type_flags bits below
);

-- Bits of types.flags.
CREATE TABLE type_flags (
    bit          INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL
);
INSERT INTO type_flags VALUES
  (1,  'heap',      'heap type (class statement or PyType_FromSpec); instances hold a reference to it'),
  (2,  'gc',        'instances support the cyclic garbage collector'),
  (4,  'has_del',   'the type or a base defines __del__'),
  (8,  'abstract',  'never instantiated directly (ABC with abstract methods)'),
  (16, 'builtin',   'defined in C by the interpreter or an extension module');

-- Every object of the heap: all gc-tracked objects of every generation plus
-- everything they reach (str, int, untracked tuples and dicts, ...).
CREATE TABLE objects (
    id        INTEGER PRIMARY KEY,  -- dense id, 1..object_count
    address   INTEGER NOT NULL,     -- id(obj) in the process
    type_id   INTEGER NOT NULL,     -- types.id (the type's objects.id)
    size      INTEGER NOT NULL,     -- shallow size: sys.getsizeof, but what
                                    -- the object owns where a Python
                                    -- __sizeof__ says more (reported_sizes)
    refcount  INTEGER NOT NULL,     -- ob_refcnt at the time of the dump
    length    INTEGER,              -- len(obj) for sized builtins, else NULL
    value     TEXT,                 -- short value: str text, repr of numbers
                                    -- and bytes, name of functions, classes,
                                    -- modules and code; whether a resource
                                    -- is open: 'fd 3' or 'closed' (FileIO,
                                    -- socket), 'open' or 'closed'
                                    -- (sqlite3.Connection), 'mapped 4096'
                                    -- (its length) or 'closed' (mmap);
                                    -- NULL otherwise (resource values were
                                    -- added in format 1 without a version
                                    -- change: older snapshots lack them)
    flags     INTEGER NOT NULL      -- object_flags bits below
);

-- Bits of objects.flags.
CREATE TABLE object_flags (
    bit          INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL
);
INSERT INTO object_flags VALUES
  (1,    'gc_tracked',      'tracked by the cyclic garbage collector'),
  (2,    'immortal',        'immortal object (3.12+): its refcount is meaningless and it is never freed'),
  (4,    'static',          'statically allocated by the interpreter or an extension (static types, small ints)'),
  (8,    'has_del',         'instance of a type that defines __del__'),
  (16,   'unreachable',     'no path from any root: cyclic garbage awaiting the collector'),
  (32,   'interned',        'interned str'),
  (64,   'value_truncated', 'value holds only the first value_limit characters'),
  (128,  'redacted',        'value withheld because the dump was redacted'),
  (256,  'size_fallback',   'size is tp_basicsize because __sizeof__ could not be evaluated safely'),
  (512,  'frozen',          'in the permanent generation (gc.freeze())'),
  (1024, 'finalized',       'the collector already ran its finalizer');

-- What a Python-level __sizeof__ reported, for the objects where that
-- differs from objects.size.  objects.size is what the object itself owns:
-- the figure of the first __sizeof__ written in C in its class's MRO
-- (object.__sizeof__ at least), plus the pre-header, never a Python
-- override, which may count other objects too (pandas' DataFrame and
-- Series report deep sizes).  Empty in snapshots written by a forked
-- child (meta forked = 1), which runs no Python code.  Added in format 1
-- without a version change: older snapshots lack the table.
CREATE TABLE reported_sizes (
    object_id  INTEGER PRIMARY KEY,  -- objects.id
    size       INTEGER NOT NULL      -- sys.getsizeof(obj) in the process
);

-- How the instances of each heap type (class statement or
-- PyType_FromSpec) are laid out, read from the type object: what an
-- instance's attributes cost beside objects.size, and what a __slots__
-- layout would cost instead (`heapsnap advise`); and of dict and set,
-- whose sizes advise splits into object and hash table (older snapshots
-- have heap types only).  Added in format 1 without a version change:
-- older snapshots lack the table.
CREATE TABLE type_layouts (
    type_id          INTEGER PRIMARY KEY,  -- types.id
    basicsize        INTEGER NOT NULL,     -- tp_basicsize
    itemsize         INTEGER NOT NULL,     -- tp_itemsize
    dictoffset       INTEGER NOT NULL,     -- tp_dictoffset (0: no __dict__;
                                           -- negative: managed, 3.11+)
    weaklistoffset   INTEGER NOT NULL,     -- tp_weaklistoffset
    managed_dict     INTEGER NOT NULL,     -- 1: __dict__ or values in the
                                           -- pre-header (3.11+)
    solid_basicsize  INTEGER NOT NULL,     -- tp_basicsize of the solid base:
                                           -- the layout without the __dict__
                                           -- and weak-list slots, which a
                                           -- __slots__ class extends
    values_bytes     INTEGER NOT NULL,     -- bytes of attribute values per
                                           -- instance outside objects.size
                                           -- (3.11+; 0 before): see below
    values_inline    INTEGER NOT NULL      -- 1: values_bytes lie after the
                                           -- instance, always allocated
                                           -- (3.13+); 0: an array allocated
                                           -- apart while the instance has no
                                           -- __dict__ (3.11, 3.12)
);

-- Text of edge labels: attribute names, dict keys (as Python reprs),
-- local variable names.  Interned by content.
CREATE TABLE names (
    id    INTEGER PRIMARY KEY,
    text  TEXT NOT NULL
);

-- What a reference is, and how its label is spelt.  The label of an edge is
-- prefix || argument || suffix, where the argument is names.text (arg =
-- 'name'), the integer edge_list.arg (arg = 'index') or nothing (arg =
-- 'none').  retains = 0 marks references that never keep their target alive
-- (weak references); every retention algorithm reads this column.
CREATE TABLE edge_kinds (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    retains      INTEGER NOT NULL,
    arg          TEXT NOT NULL CHECK (arg IN ('name', 'index', 'none')),
    prefix       TEXT NOT NULL,
    suffix       TEXT NOT NULL,
    description  TEXT NOT NULL
);
INSERT INTO edge_kinds VALUES
  (0,  'item',    1, 'index', '[', ']',  'list, tuple or deque item by position: [3]'),
  (1,  'value',   1, 'name',  '[', ']',  'dict value by its key, or numpy array element by its index: [''users''], [42], [1,2]'),
  (2,  'attr',    1, 'name',  '.', '',   'attribute, __slots__ member or C field: .name, .__dict__'),
  (3,  'key',     1, 'name',  'key ', '', 'the key object of a dict entry: key ''users'''),
  (4,  'element', 1, 'none',  '{element}', '', 'member of a set or frozenset'),
  (5,  'local',   1, 'name',  'local ', '', 'local variable of a frame: local buf'),
  (6,  'cell',    1, 'none',  '.cell_contents', '', 'the value held by a closure cell'),
  (7,  'closure', 1, 'name',  'closure ', '', 'closure cell of a function, by free variable name'),
  (8,  'class',   1, 'none',  '.__class__', '', 'an instance''s reference to its heap type'),
  (9,  'weak',    0, 'none',  '(weak)', '', 'weak reference to its referent; never retains'),
  (10, 'other',   1, 'index', '<ref #', '>', 'reference reported only by tp_traverse, without a name');

-- Every reference between two objects, one row each (a list holding the
-- same object twice has two rows).  Rows are written in src order, so
-- rowid order is src order.  Read edges through the view below.
CREATE TABLE edge_list (
    src   INTEGER NOT NULL,  -- referrer
    dst   INTEGER NOT NULL,  -- referent
    kind  INTEGER NOT NULL,  -- edge_kinds.id
    arg   INTEGER            -- names.id or position, see edge_kinds.arg
);

-- References with their kind and human label, e.g.
--   SELECT label FROM edges WHERE dst = 42;
CREATE VIEW edges (id, src, dst, kind, label) AS
SELECT e.rowid, e.src, e.dst, k.name,
       k.prefix
       || CASE k.arg WHEN 'name'  THEN coalesce(n.text, '?')
                     WHEN 'index' THEN coalesce(e.arg, '?')
                     ELSE '' END
       || k.suffix
  FROM edge_list AS e
  JOIN edge_kinds AS k ON k.id = e.kind
  LEFT JOIN names AS n ON k.arg = 'name' AND n.id = e.arg;

-- Where retention starts.  Kinds:
--   module    a module in sys.modules (label: its name)
--   frame     a local variable of a running frame (label: local NAME;
--             thread_id and frame_id say where)
--   thread    per-thread state: threading.local data, current exception,
--             contextvars context (label says which)
--   sys       interpreter state: sys.modules, the sys module dict, ...
--   builtins  the builtins module dict
--   interned  the interned-string table (3.12+: immortal interned strings)
--   static    a statically allocated or immortal container
--   gc        gc.garbage and gc.callbacks
--   external  refcount exceeds the references found in the heap: held from
--             C code, a C stack, or leaked (label: N references)
CREATE TABLE roots (
    object_id  INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    label      TEXT,
    thread_id  INTEGER,  -- threads.id, for frame and thread roots
    frame_id   INTEGER   -- frames.id, for frame roots
);

-- Python threads alive at the time of the dump.
CREATE TABLE threads (
    id         INTEGER PRIMARY KEY,
    ident      INTEGER NOT NULL,  -- threading.get_ident()
    native_id  INTEGER,           -- OS thread id, when known
    name       TEXT,              -- threading.Thread.name, when known
    is_main    INTEGER NOT NULL,  -- 1 for the main thread
    is_dumper  INTEGER NOT NULL,  -- 1 for the thread that ran the dump
    object_id  INTEGER            -- the threading.Thread object, when known
);

-- Each thread's stack, innermost frame first (depth 0).
CREATE TABLE frames (
    id         INTEGER PRIMARY KEY,
    thread_id  INTEGER NOT NULL,  -- threads.id
    depth      INTEGER NOT NULL,  -- 0 = innermost
    function   TEXT,              -- code qualname
    file       TEXT,              -- co_filename
    line       INTEGER,           -- current line
    code_id    INTEGER,           -- objects.id of the code object
    object_id  INTEGER            -- objects.id of the frame object, if any
);

-- Where objects were allocated, when tracemalloc traced the process (meta
-- alloc_sites = 1): each traced object's allocation traceback, interned.
-- tracemalloc records (file, line) only; function is the innermost code
-- object of the heap whose lines include that line, NULL when none is
-- alive (module-level code, a class body).  Added in format 1 without a
-- version change (the tables are new and nothing else changed): older
-- snapshots lack them.  The allocating line of each object:
--   SELECT ot.object_id, f.file, f.line, f.function
--     FROM object_tracebacks ot
--     JOIN alloc_tracebacks t ON t.id = ot.traceback_id AND t.depth = 0
--     JOIN alloc_frames f ON f.id = t.frame_id;
CREATE TABLE alloc_frames (
    id        INTEGER PRIMARY KEY,
    file      TEXT NOT NULL,     -- the code's co_filename
    line      INTEGER NOT NULL,  -- line number (0: unknown)
    function  TEXT               -- qualname of the enclosing code, or NULL
);

-- The frames of each traceback, innermost (the allocating line) first.
CREATE TABLE alloc_tracebacks (
    id        INTEGER NOT NULL,  -- traceback id
    depth     INTEGER NOT NULL,  -- 0 = innermost
    frame_id  INTEGER NOT NULL,  -- alloc_frames.id
    PRIMARY KEY (id, depth)
) WITHOUT ROWID;

-- The traceback of each object tracemalloc saw allocated; objects
-- without a row have none.
CREATE TABLE object_tracebacks (
    object_id     INTEGER PRIMARY KEY,  -- objects.id
    traceback_id  INTEGER NOT NULL      -- alloc_tracebacks.id
);
