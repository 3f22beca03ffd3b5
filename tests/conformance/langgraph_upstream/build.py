"""Copy LangGraph's store tests into $LG_WORK/run, swap backend imports, append fixture swaps.

Reads the upstream files from $LG_WORK/orig/<suite>/ (see README.md for how to extract them
at the pinned commit); nothing upstream is stored in this repository.
"""

import os
import pathlib
import re
import shutil

WORK = pathlib.Path(os.environ.get("LG_WORK", "/tmp/upstream-lg"))
ORIG, RUN = WORK / "orig", WORK / "run"
IMPORTS = [
    (r"from langgraph\.store\.sqlite\.base import \((.*?)\)", r"from lgshim import (\1)"),
    (r"from langgraph\.store\.postgres\.base import \((.*?)\)", r"from lgshim import (\1)"),
    (r"from langgraph\.store\.sqlite\.base import ", "from lgshim import "),
    (r"from langgraph\.store\.sqlite\.aio import ", "from lgshim import "),
    (r"from langgraph\.store\.sqlite import ", "from lgshim import "),
    (r"from langgraph\.store\.postgres import ", "from lgshim import "),
    (r"from langgraph\.store\.memory import ", "from lgshim import "),
    (r"from langgraph\.checkpoint\.postgres import ", "from lgshim import "),
    (r"from psycopg\.errors import ", "from lgshim import "),
    (r"from psycopg\.rows import ", "from lgshim import "),
    (r"from psycopg import ", "from lgshim import "),
]
PG_SYNC = """

# ---- fixture swap (mem_integrations harness): LanceDBStore instead of a Postgres database ----
@pytest.fixture(scope="function", params=["default", "pipe", "pool"])
def store(request):
    ttl_config = {"default_ttl": TTL_MINUTES, "refresh_on_read": True,
                  "sweep_interval_minutes": TTL_MINUTES / 2}
    with PostgresStore.from_conn_string("lancedb", ttl=ttl_config) as store:
        if hasattr(store, "start_ttl_sweeper"):
            store.start_ttl_sweeper()
        yield store
        if hasattr(store, "stop_ttl_sweeper"):
            store.stop_ttl_sweeper()


@contextmanager
def _create_vector_store(vector_type, distance_type, fake_embeddings, text_fields=None,
                         enable_ttl=True):
    index_config = {"dims": fake_embeddings.dims, "embed": fake_embeddings,
                    "ann_index_config": {"vector_type": vector_type},
                    "distance_type": distance_type, "fields": text_fields}
    with PostgresStore.from_conn_string(
        "lancedb", index=index_config,
        ttl={"default_ttl": 2, "refresh_on_read": True} if enable_ttl else None,
    ) as store:
        store.setup()
        yield store
"""
PG_ASYNC = """

# ---- fixture swap (mem_integrations harness): LanceDBStore instead of a Postgres database ----
@pytest.fixture(scope="function", params=["default", "pipe", "pool"])
async def store(request):
    ttl_config = {"default_ttl": TTL_MINUTES, "refresh_on_read": True,
                  "sweep_interval_minutes": TTL_MINUTES / 2}
    async with AsyncPostgresStore.from_conn_string("lancedb", ttl=ttl_config) as store:
        if hasattr(store, "start_ttl_sweeper"):
            store.start_ttl_sweeper()
        yield store
        if hasattr(store, "stop_ttl_sweeper"):
            store.stop_ttl_sweeper()


@asynccontextmanager
async def _create_vector_store(vector_type, distance_type, fake_embeddings, text_fields=None):
    index_config = {"dims": fake_embeddings.dims, "embed": fake_embeddings,
                    "ann_index_config": {"vector_type": vector_type},
                    "distance_type": distance_type, "fields": text_fields}
    async with AsyncPostgresStore.from_conn_string("lancedb", index=index_config) as store:
        await store.setup()
        yield store
"""
PG_CONFTEST = """

# ---- fixture swap (mem_integrations harness): no Postgres server to connect to or clear ----
@pytest.fixture(scope="function")
async def conn():
    yield None


@pytest.fixture(scope="function", autouse=True)
async def clear_test_db(conn) -> None:
    return None
"""
SUITES = {
    "checkpoint": {"test_store.py": "", "embed_test_utils.py": ""},
    "checkpoint-sqlite": {"test_store.py": "", "test_async_store.py": "", "test_ttl.py": ""},
    "checkpoint-postgres": {
        "test_store.py": PG_SYNC,
        "test_async_store.py": PG_ASYNC,
        "conftest.py": PG_CONFTEST,
        "embed_test_utils.py": "",
    },
}
shutil.rmtree(RUN / "suites", ignore_errors=True)
for suite, files in SUITES.items():
    d = RUN / "suites" / suite / "tests"
    d.mkdir(parents=True)
    (d / "__init__.py").write_text("")
    for name, extra in files.items():
        text = (ORIG / suite / name).read_text()
        for pat, rep in IMPORTS:
            text = re.sub(pat, rep, text, flags=re.S)
        (d / name).write_text(text + extra)
    (RUN / "suites" / suite / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
print("built", RUN / "suites")  # noqa: T201
