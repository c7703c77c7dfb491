"""A zoo of object kinds for the check-mode invariants (test_zoo.py).

build() returns a dict name -> object covering the interpreter's builtin
types, the stdlib's C extension types and the usual user-level shapes, in
the states that matter (running generators, finished frames, materialised
and inline instance dicts, weak references of each kind...).
"""

import array
import asyncio
import collections
import contextvars
import ctypes
import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import io
import itertools
import operator
import re
import struct
import sys
import threading
import types
import typing
import unittest
import weakref

import native


class Plain:
    def method(self):
        return self


class Slotted:
    __slots__ = ("a", "b", "__weakref__")


class SlottedDict(Slotted):
    __slots__ = ("c", "__dict__")


class ListSub(list):
    pass


class DictSub(dict):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.extra = [1]


class TupleSub(tuple):
    pass


class IntSub(int):
    pass


class ExcSub(Exception):
    def __init__(self, *args):
        super().__init__(*args)
        self.payload = {"p": 1}


class WithDel:
    def __del__(self):
        pass


class Meta(type):
    pass


class WithMeta(metaclass=Meta):
    x = 1


class Color(enum.Enum):
    RED = 1
    GREEN = 2


@dataclasses.dataclass
class Point:
    x: int
    y: list


@dataclasses.dataclass(frozen=True)
class FrozenPoint:
    x: int


NT = collections.namedtuple("NT", "a b")


class Desc:
    def __get__(self, obj, tp=None):
        return 1

    def __set_name__(self, owner, name):
        self.name = name


class UsesDesc:
    d = Desc()

    @property
    def prop(self):
        return 1

    @classmethod
    def cm(cls):
        return cls

    @staticmethod
    def sm():
        return 1

    @functools.lru_cache(maxsize=None)
    def cached(self, n):
        return n


@functools.lru_cache(maxsize=4)
def cached_fn(n):
    return [n]


def gen_fn(n):
    local_list = [n]
    yield local_list
    yield n


async def coro_fn():
    await asyncio.sleep(0)
    return 1


async def agen_fn():
    x = [1]
    yield x


def make_closure():
    free = [1]
    count = 0

    def inner():
        nonlocal count
        count += 1
        return free
    return inner


def finished_frame():
    x = [1, 2]
    y = {"y": x}
    return sys._getframe(), x, y


def make_traceback():
    try:
        try:
            {}["missing"]
        except KeyError as e:
            raise ValueError("wrapped") from e
    except ValueError as e:
        return e


class Struct(ctypes.Structure):
    _fields_ = [("a", ctypes.c_int), ("b", ctypes.c_double)]


def compiled_kinds():
    """Instances of compiled classes whose layouts differ from what
    their bases declare: hs_native's (native.py; none without a C
    compiler) and, where this interpreter has mypy, mypy's own
    mypyc-compiled classes."""
    out = []
    try:
        hs = native.load()
    except unittest.SkipTest:
        hs = None
    if hs is not None:
        class SlotsOnNative(hs.NativeBase):
            __slots__ = ("a", "b")

        class DictOnNative(hs.NativeBase):
            pass

        class SlotsOnMiddle(hs.DictInMiddle):
            __slots__ = ("s",)

        c = hs.Compiled([1])
        c.extra = [2]
        s = SlotsOnNative([3])
        s.a = [4]
        d = DictOnNative([5])
        d.x = [6]
        m = SlotsOnMiddle([7], [8])
        m.s, m.y = [9], [10]
        out += [c, s, d, m, hs.DictInMiddle([11]), hs.NativeBase(),
                hs.Compiled()]
    try:
        import mypy.nodes
        import mypy.types
    except ImportError:
        return out
    name = mypy.nodes.NameExpr("zoo")
    call = mypy.nodes.CallExpr(name, [mypy.nodes.IntExpr(1)],
                               [mypy.nodes.ARG_POS], [None])
    out += [name, call, mypy.types.AnyType(mypy.types.TypeOfAny.special_form),
            mypy.nodes.Block([mypy.nodes.ExpressionStmt(call)])]
    return out


def build():
    z = {}
    # builtins
    z["ints"] = [0, 1, -1, 2 ** 100, True, IntSub(3)]
    z["strs"] = ["", "ascii", "caf\xe9", "\u20ac", "\U0001F600",
                 sys.intern("zoo_interned")]
    z["bytes"] = [b"", b"x", bytearray(b"abc"), memoryview(b"mv")]
    z["floats"] = [1.5, 3j]
    z["containers"] = [[], [1], (), (1, [2]), {}, {"a": [1]}, {1: 2},
                       set(), {1, (2,)}, frozenset({3}), range(5),
                       slice(1, [2], 3)]
    z["subs"] = [ListSub([1]), DictSub(a=1), TupleSub((1, 2)),
                 collections.OrderedDict(a=[1]),
                 collections.defaultdict(list, a=[1]),
                 collections.Counter("aab"), collections.deque([1, [2]]),
                 collections.ChainMap({"a": 1}), NT(1, [2])]
    z["types"] = [Plain, Slotted, SlottedDict, WithMeta, Meta, Color, Point,
                  type("Dynamic", (Plain,), {"k": [1]})]
    z["instances"] = [Plain(), Slotted(), SlottedDict(), WithDel(),
                      Color.RED, Point(1, [2]), FrozenPoint(1), WithMeta(),
                      UsesDesc(), object()]
    inline = Plain()
    inline.a, inline.b = [1], "b"
    touched = Plain()
    touched.a = [1]
    vars(touched)
    touched.b = [2]
    many = Plain()
    for i in range(50):
        setattr(many, "attr%d" % i, [i])
    deleted = Plain()
    deleted.a, deleted.b = [1], [2]
    del deleted.a
    sd = SlottedDict()
    sd.a, sd.c, sd.other = [1], [3], [4]
    z["attrs"] = [inline, touched, many, deleted, sd]
    # functions and friends
    clo = make_closure()
    clo()
    p = Plain()
    z["callables"] = [gen_fn, clo, clo.__closure__, clo.__closure__[0],
                      p.method, [].append, len, functools.partial(len, "x"),
                      operator.itemgetter(1), operator.attrgetter("a"),
                      operator.methodcaller("m", 1), cached_fn,
                      UsesDesc.cached, UsesDesc.__dict__["prop"],
                      UsesDesc.__dict__["cm"], UsesDesc.__dict__["sm"],
                      UsesDesc.__dict__["d"], str.upper, dict.__dict__["get"],
                      int.__add__, (1).__add__, lambda: None,
                      gen_fn.__code__, types.SimpleNamespace(a=[1]),
                      types.MappingProxyType({"a": 1}),
                      super(SlottedDict, sd)]
    cached_fn(1)
    cached_fn(2)
    UsesDesc().cached(1)
    # generators, coroutines, frames
    g = gen_fn(1)
    next(g)
    done = gen_fn(2)
    list(done)
    c = coro_fn()
    ag = agen_fn()
    frame, fx, fy = finished_frame()
    z["running"] = [g, gen_fn(3), done, c, ag, frame, fx, fy,
                    iter([1]), iter({1: 2}), iter({1}), enumerate([1]),
                    zip([1], [2]), map(len, ["a"]), filter(None, [1]),
                    reversed([1]), itertools.count(), itertools.chain([1]),
                    itertools.groupby([1, 1]), itertools.tee([1])[0]]
    # exceptions and tracebacks
    e = make_traceback()
    z["exceptions"] = [e, e.__cause__, e.__traceback__, ExcSub(1),
                       StopIteration([1]), OSError(2, "x", "f"),
                       SyntaxError("s", ("f", 1, 2, "t"))]
    if sys.version_info >= (3, 11):
        z["exceptions"].append(ExceptionGroup("g", [ValueError(1)]))
    # weak references
    target = Plain()
    wvd = weakref.WeakValueDictionary({"k": target})
    wkd = weakref.WeakKeyDictionary({target: [1]})
    z["weak"] = [target, weakref.ref(target), weakref.ref(target, len),
                 weakref.proxy(target), weakref.proxy(len),
                 weakref.WeakSet([target]), wvd, wkd,
                 weakref.WeakMethod(p.method),
                 weakref.finalize(target, list, "bye")]
    # stdlib C types
    z["stdlib"] = [array.array("i", [1, 2]), datetime.datetime.now(),
                   datetime.timezone.utc, datetime.timedelta(1),
                   decimal.Decimal("1.1"), decimal.getcontext(),
                   fractions.Fraction(1, 3), re.compile(r"a(b)"),
                   re.match("a", "a"), io.BytesIO(b"x"), io.StringIO("x"),
                   struct.Struct("i"), threading.local(),
                   threading.Lock(), threading.RLock(), threading.Event(),
                   contextvars.ContextVar("v"), contextvars.copy_context(),
                   ctypes.c_int(1), Struct(1, 2.0), ctypes.pointer(
                       ctypes.c_int(2)), (ctypes.c_char * 4)(),
                   typing.List[int], typing.Optional[str],
                   sys.modules["sys"], sys.flags, sys.version_info,
                   sys.float_info, __builtins__]
    if sys.version_info >= (3, 9):
        z["stdlib"] += [list[int], dict[str, int]]
    if sys.version_info >= (3, 10):
        z["stdlib"] += [int | str]
    tl = threading.local()
    tl.value = [1]
    z["stdlib"].append(tl)
    var = contextvars.ContextVar("zoo")
    var.set([1])
    z["stdlib"].append(var)
    z["compiled"] = compiled_kinds()
    # cycles, some unreachable
    a, b = Plain(), Plain()
    a.b, b.a = b, a
    z["cycle"] = a
    lost = Plain()
    lost.me = lost
    del lost
    return z
