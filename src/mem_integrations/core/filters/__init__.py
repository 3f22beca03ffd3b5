r"""Mem0 v2 filter JSON -> validated tree -> LanceDB (DataFusion) SQL where-clause.

Filters come from callers (and LLM tool calls), so they are untrusted: every field, operator and
value is validated into a small tree first, and only the tree is turned into SQL. No input text
reaches SQL except as a quoted literal built by :func:`sql_string` (single quotes doubled, NUL
rejected); numbers are re-formatted from real ``int``/``float`` values; LIKE patterns escape
``\``, ``%`` and ``_`` and declare ``ESCAPE '\'``.

Missing-field semantics. NOTs are pushed down to the leaves and every negated leaf is made
two-valued (``NOT coalesce(..., false)``); what remains is monotone AND/OR, where WHERE's
"NULL is false" is exact. So boolean algebra holds exactly, and positive leaves stay bare so
LanceDB can use scalar indexes on them:

* ``eq``/``in``/``gt``/``contains``/... never match a row where the field (column, JSON key,
  or the whole metadata) is missing or null, nor a metadata value of another JSON type.
* ``ne``/``nin`` match exactly the rows the matching ``eq``/``in`` does not, so "not x"
  includes "has no value at all".
* ``NOT f`` matches exactly the rows ``f`` does not match. ``{"NOT": [f, g]}`` means neither.
* ``{"field": "*"}`` means present: not null; for ``categories`` non-empty; for a metadata key
  present with a non-null value. ``{"field": None}`` is its complement.

Dates: a bare date ``d`` is midnight UTC of ``d``, except ``eq`` (the whole day), ``lte``
(up to the end of ``d``) and ``gt`` (from the next day on). Naive datetimes are UTC.

SQL shape: DataFusion's parser has a recursion limit (~50 frames) and backtracks badly on
``(NOT (NOT ...))``, so NOTs are pushed down to the leaves (De Morgan), same-operator groups
are flattened and the deepest child is written first.
"""

from .literals import sql_string, sql_timestamp
from .sql import to_sql
from .tree import (
    SCOPE_FIELDS,
    And,
    Leaf,
    Node,
    Not,
    Or,
    and_,
    eq,
    parse_filters,
    scope_values,
)

__all__ = [
    "SCOPE_FIELDS",
    "And",
    "Leaf",
    "Node",
    "Not",
    "Or",
    "and_",
    "eq",
    "parse_filters",
    "scope_values",
    "sql_string",
    "sql_timestamp",
    "to_sql",
]
