"""One genuine workload of a real package, then the census oracle.

    python3 workload.py NAME DIR     (heapsnap's agent on PYTHONPATH)

NAME is mypy, pandas, django, sqlalchemy or sphinx.  The workload runs in
DIR, keeps what it built alive in the module global KEPT (so that paths
start at a module), then census.check() takes a census, dumps DIR/NAME.db,
compares and follows paths; the report is printed as one JSON line.
HEAPSNAP names the heapsnap command for `why` (default: the build's).

Every workload uses only the Debian packages tools/deps.sh installs for
the test tier, with no network and nothing written outside DIR.
"""

import os
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import census  # noqa: E402

KEPT = None


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))


# ---- mypy: checking a small package in-process (mypy is compiled by mypyc) --

def mypy_workload(d):
    from mypy import build
    from mypy.modulefinder import BuildSource
    from mypy.options import Options

    pkg = os.path.join(d, "shapes")
    write(os.path.join(pkg, "__init__.py"), "from .base import Shape\n")
    write(os.path.join(pkg, "base.py"), """
        from typing import Generic, Iterator, Protocol, TypeVar
        T = TypeVar("T")

        class Sized(Protocol):
            def area(self) -> float: ...

        class Shape:
            def __init__(self, name: str) -> None:
                self.name = name
            def area(self) -> float:
                return 0.0

        class Box(Generic[T]):
            def __init__(self, item: T) -> None:
                self.item = item
            def get(self) -> T:
                return self.item

        def areas(xs: list[Sized]) -> Iterator[float]:
            for x in xs:
                yield x.area()
    """)
    write(os.path.join(pkg, "shapes.py"), """
        from dataclasses import dataclass
        from .base import Box, Shape, areas

        @dataclass
        class Circle(Shape):
            r: float = 1.0
            def area(self) -> float:
                return 3.14159 * self.r ** 2

        class Square(Shape):
            def __init__(self, side: float) -> None:
                super().__init__("square")
                self.side = side
            def area(self) -> float:
                return self.side ** 2

        boxes = [Box(Circle("c")), Box(Square(2.0))]
        total: float = sum(areas([b.get() for b in boxes]))
        wrong: int = Box("text").get()
    """)
    options = Options()
    options.incremental = False
    options.cache_dir = os.devnull
    sources = [BuildSource(os.path.join(pkg, f), "shapes" + m, None)
               for f, m in (("__init__.py", ""), ("base.py", ".base"),
                            ("shapes.py", ".shapes"))]
    result = build.build(sources=sources, options=options)
    assert any("Incompatible types" in e for e in result.errors), \
        result.errors
    return result, ["TypeInfo", "FuncDef", "Var", "MypyFile", "ClassDef"]


# ---- numpy and pandas frames ------------------------------------------------

def pandas_workload(d):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    n = 20000
    frame = pd.DataFrame({
        "city": rng.choice(["Oslo", "Lima", "Pune", "Kobe"], n),
        "amount": rng.normal(100, 15, n),
        "count": rng.integers(0, 50, n),
        "label": ["item-%d" % i for i in range(n)],  # object dtype
    })
    summary = frame.groupby("city").agg({"amount": "mean", "count": "sum"})
    big = np.arange(200000, dtype=np.float64)
    cache = {"head": big[:10], "evens": big[::2]}  # views keep `big`
    kept = [frame, summary, cache, frame["label"], frame.describe()]
    return kept, ["DataFrame", "Series", "ndarray", "Index"]


# ---- Django: an app rendering templates, in-memory sqlite ---------------------

def django_workload(d):
    write(os.path.join(d, "hsapp", "__init__.py"), "")
    write(os.path.join(d, "hsapp", "models.py"), """
        from django.db import models

        class Author(models.Model):
            name = models.CharField(max_length=50)

        class Book(models.Model):
            title = models.CharField(max_length=100)
            author = models.ForeignKey(Author, on_delete=models.CASCADE,
                                       related_name="books")
    """)
    write(os.path.join(d, "hsapp", "views.py"), """
        from django.shortcuts import render
        from .models import Author

        def index(request):
            authors = Author.objects.prefetch_related("books").all()
            return render(request, "index.html", {"authors": authors})
    """)
    write(os.path.join(d, "hsapp", "urls.py"), """
        from django.urls import path
        from . import views
        urlpatterns = [path("", views.index)]
    """)
    write(os.path.join(d, "hsapp", "templates", "index.html"), """
        {% for a in authors %}<h2>{{ a.name|title }}</h2><ul>
        {% for b in a.books.all %}<li>{{ b.title|upper }}</li>{% endfor %}
        </ul>{% endfor %}
    """)
    sys.path.insert(0, d)
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False, SECRET_KEY="heapsnap-test", ROOT_URLCONF="hsapp.urls",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=["django.contrib.contenttypes",
                        "django.contrib.auth", "hsapp"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                               "NAME": ":memory:"}},
        TEMPLATES=[{"BACKEND":
                    "django.template.backends.django.DjangoTemplates",
                    "APP_DIRS": True}],
        USE_TZ=True)
    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", run_syncdb=True, verbosity=0)
    from hsapp.models import Author, Book

    for i in range(40):
        a = Author.objects.create(name="author %d" % i)
        Book.objects.bulk_create(
            [Book(title="book %d.%d" % (i, j), author=a) for j in range(5)])
    client = Client()
    responses = [client.get("/") for _ in range(3)]
    assert responses[-1].status_code == 200, responses[-1].status_code
    assert b"BOOK 39.4" in responses[-1].content
    authors = list(Author.objects.prefetch_related("books"))
    return [client, responses, authors], ["Author", "Book", "HttpResponse",
                                          "Template", "NodeList"]


# ---- SQLAlchemy: an ORM session holding objects -----------------------------

def sqlalchemy_workload(d):
    from sqlalchemy import Column, ForeignKey, Integer, String, create_engine
    from sqlalchemy.orm import Session, declarative_base, relationship

    Base = declarative_base()

    class Customer(Base):
        __tablename__ = "customer"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        orders = relationship("Order", back_populates="customer")

    class Order(Base):
        __tablename__ = "orders"
        id = Column(Integer, primary_key=True)
        item = Column(String(50))
        customer_id = Column(ForeignKey("customer.id"))
        customer = relationship("Customer", back_populates="orders")

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    session = Session(engine)
    for i in range(300):
        c = Customer(name="customer %d" % i)
        c.orders = [Order(item="item %d.%d" % (i, j)) for j in range(4)]
        session.add(c)
    session.commit()
    loaded = session.query(Customer).filter(Customer.name.like("%1%")).all()
    assert loaded and all(len(c.orders) == 4 for c in loaded)
    return [engine, session, loaded, Base], ["Customer", "Order",
                                             "InstanceState"]


# ---- docutils and Sphinx: building a small doc tree ---------------------------

def sphinx_workload(d):
    import docutils.core
    from sphinx.application import Sphinx

    src = os.path.join(d, "doc")
    write(os.path.join(src, "conf.py"), """
        project = "heapsnap-test"
        extensions = []
        html_theme = "basic"
    """)
    write(os.path.join(src, "index.rst"), """
        Test docs
        =========

        .. toctree::

           guide
           api

        Intro with *emphasis*, ``code`` and a :ref:`link <guide-top>`.
    """)
    with open(os.path.join(src, "guide.rst"), "w") as f:
        f.write(".. _guide-top:\n\nGuide\n=====\n\n")
        for i in range(30):
            f.write("Section %d\n----------\n\nText %d with a list:\n\n"
                    "* one\n* two\n\n.. code-block:: python\n\n"
                    "   x = %d\n\n" % (i, i, i))
    write(os.path.join(src, "api.rst"), """
        API
        ===

        .. py:function:: spam(eggs)

           Spam the eggs.

        .. py:class:: Knight(name)

           .. py:method:: say(word)
    """)
    out = os.path.join(d, "html")
    app = Sphinx(src, src, out, os.path.join(d, "doctrees"), "html",
                 status=None, warning=None, freshenv=True)
    app.build()
    assert app.statuscode == 0, app.statuscode
    tree = docutils.core.publish_doctree(
        open(os.path.join(src, "guide.rst")).read())
    return [app, tree], ["document", "section", "paragraph", "Text",
                         "BuildEnvironment"]


WORKLOADS = {
    "mypy": mypy_workload,
    "pandas": pandas_workload,
    "django": django_workload,
    "sqlalchemy": sqlalchemy_workload,
    "sphinx": sphinx_workload,
}


def main(argv):
    import json
    import time

    global KEPT
    name, d = argv[1], os.path.abspath(argv[2])
    os.chdir(d)
    t0 = time.monotonic()
    KEPT, target_types = WORKLOADS[name](d)
    workload_seconds = time.monotonic() - t0
    cli = os.environ.get("HEAPSNAP") or os.path.join(
        os.path.dirname(os.path.dirname(HERE)), "build", "heapsnap")
    path = os.path.join(d, name + ".db")
    report = census.check(path,
                          lambda c: census.addresses_of_types(c, target_types),
                          cli)
    t0 = time.monotonic()
    report["compiled"] = census.compiled_references(path)
    report["compiled_seconds"] = time.monotonic() - t0
    report["workload"] = name
    report["workload_seconds"] = workload_seconds
    sys.stdout.write("REPORT " + json.dumps(report) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
