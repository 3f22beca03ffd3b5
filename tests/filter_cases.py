"""One table of filter cases over a fixed set of memory rows.

The same table is meant to be run against the filter compiler (tests/test_filters.py) and later
against Memory.search / get_all / delete_all. ``expected`` is either the exact set of matching
row ids or an exception type that parsing the filter must raise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from mem_integrations.core.errors import InvalidFilterError


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _row(
    id_: str,
    memory: str,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    app_id: str | None = None,
    actor_id: str | None = None,
    role: str | None = None,
    categories: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    created_at: str,
    updated_at: str | None = None,
    expires_at: str | None = None,
) -> dict[str, Any]:
    return {
        "id": id_,
        "memory": memory,
        "user_id": user_id,
        "agent_id": agent_id,
        "run_id": run_id,
        "app_id": app_id,
        "actor_id": actor_id,
        "role": role,
        "categories": categories,
        "metadata": metadata,
        "created_at": _ts(created_at),
        "updated_at": _ts(updated_at or created_at),
        "expires_at": _ts(expires_at) if expires_at else None,
    }


FILTER_ROWS: list[dict[str, Any]] = [
    _row(
        "m01",
        "Alex likes to play tennis on weekends",
        user_id="alex",
        agent_id="travel-bot",
        run_id="r1",
        app_id="app1",
        actor_id="alex",
        role="user",
        categories=["sports", "hobbies"],
        metadata={
            "type": "pref",
            "priority": 7,
            "score": 0.5,
            "verified": True,
            "tags": ["a", "b"],
        },
        created_at="2024-07-01T09:00:00",
        updated_at="2024-07-02T10:00:00",
    ),
    _row(
        "m02",
        "Alex is allergic to peanuts",
        user_id="alex",
        app_id="app1",
        categories=["health"],
        metadata={"type": "fact", "priority": 3, "verified": False},
        created_at="2024-07-01T23:59:59.999999",
        expires_at="2025-01-01T00:00:00",
    ),
    _row(
        "m03",
        "Bo prefers window seats",
        user_id="bo",
        agent_id="travel-bot",
        run_id="r2",
        app_id="app2",
        actor_id="bo",
        role="user",
        categories=["travel", "preferences"],
        metadata={"type": "pref", "priority": "high"},
        created_at="2024-07-02T00:00:00",
        updated_at="2024-08-01T00:00:00",
        expires_at="2024-12-31T12:00:00",
    ),
    _row(
        "m04",
        "Agent note: escalate billing issues",
        agent_id="support-bot",
        run_id="r3",
        role="assistant",
        categories=[],
        metadata=None,
        created_at="2024-06-30T23:59:59",
    ),
    _row(
        "m05",
        "Carol's password hint is ' OR 1=1 --",
        user_id="carol",
        app_id="app1",
        actor_id="carol",
        role="user",
        categories=None,
        metadata={"note": "' OR 1=1 --", "it's": "quoted key", "a.b": "dotted"},
        created_at="2024-05-15T12:00:00",
    ),
    _row(
        "m06",
        "Discount is 50% off_today at C:\\temp",
        user_id="dave",
        app_id="app2",
        role="user",
        categories=["shopping"],
        metadata={"discount": 50, "code": "50%_off\\x"},
        created_at="2024-07-15T00:00:00",
        expires_at="2024-07-20T00:00:00",
    ),
    _row(
        "m07",
        "喜欢喝茶 🍵 مرحبا",
        user_id="用户一",
        role="user",
        categories=["饮料"],
        metadata={"lang": "zh", "emoji": "🍵", "שלום": "rtl key", "a": {"b": "nested"}},
        created_at="2024-08-01T08:00:00",
    ),
    _row(
        "m08",
        "'); DROP TABLE memories; --",
        user_id="o'brien",
        run_id="r1",
        app_id="app3",
        role="user",
        categories=["x'y"],
        metadata={'k"q': "dq", "b\\s": 1, "' OR 1=1 --": "inj key"},
        created_at="2024-07-03T00:00:00",
    ),
    _row(
        "m09",
        "Alex plans a trip TO PLAY golf in Spain",
        user_id="alex",
        agent_id="travel-bot",
        run_id="r2",
        app_id="app1",
        actor_id="alex",
        role="user",
        categories=["travel", "sports"],
        metadata={
            "type": "plan",
            "priority": 9,
            "score": 1500.0,
            "nested": {"x": 1},
            "tags": ["b", "c"],
            "verified": "yes",
        },
        created_at="2024-09-01T08:30:00",
        updated_at="2024-09-02T08:30:00",
        expires_at="2030-01-01T00:00:00",
    ),
    _row(
        "m10",
        "Empty metadata row",
        run_id="r4",
        app_id="app3",
        categories=["misc"],
        metadata={},
        created_at="2023-12-31T23:00:00",
    ),
]

ALL_IDS: frozenset[str] = frozenset(row["id"] for row in FILTER_ROWS)


def filter_row_metadata_json(row: dict[str, Any]) -> str | None:
    """The row's metadata as stored in the JSON column."""
    return None if row["metadata"] is None else json.dumps(row["metadata"])


@dataclass(frozen=True)
class FilterCase:
    name: str
    filters: dict[Any, Any]
    expected: frozenset[str] | type[Exception]
    injection: bool = False


def _ids(*nums: int) -> frozenset[str]:
    return frozenset(f"m{n:02d}" for n in nums)


def _not(*nums: int) -> frozenset[str]:
    return ALL_IDS - _ids(*nums)


NONE: frozenset[str] = frozenset()
BAD = InvalidFilterError
INJ = "' OR 1=1 --"
DROP = "'); DROP TABLE memories; --"


def _c(
    name: str,
    filters: dict[Any, Any],
    expected: frozenset[str] | type[Exception],
    injection: bool = False,
) -> FilterCase:
    return FilterCase(name, filters, expected, injection)


FILTER_CASES: list[FilterCase] = [
    # --- scope / string columns
    _c("user_eq", {"user_id": "alex"}, _ids(1, 2, 9)),
    _c("user_eq_op", {"user_id": {"eq": "alex"}}, _ids(1, 2, 9)),
    _c("user_ne_includes_missing", {"user_id": {"ne": "alex"}}, _not(1, 2, 9)),
    _c("user_in", {"user_id": {"in": ["alex", "bo"]}}, _ids(1, 2, 3, 9)),
    _c("user_nin_includes_missing", {"user_id": {"nin": ["alex", "bo"]}}, _not(1, 2, 3, 9)),
    _c("user_star", {"user_id": "*"}, _not(4, 10)),
    _c("user_none", {"user_id": None}, _ids(4, 10)),
    _c("user_eq_literal_star", {"user_id": {"eq": "*"}}, NONE),
    _c("multi_key_and", {"user_id": "alex", "agent_id": "travel-bot"}, _ids(1, 9)),
    _c("agent_ne", {"agent_id": {"ne": "travel-bot"}}, _not(1, 3, 9)),
    _c("run_eq", {"run_id": "r1"}, _ids(1, 8)),
    _c("app_in", {"app_id": {"in": ["app1", "app3"]}}, _ids(1, 2, 5, 8, 9, 10)),
    _c("actor_contains", {"actor_id": {"contains": "al"}}, _ids(1, 9)),
    _c("role_icontains", {"role": {"icontains": "USER"}}, _ids(1, 3, 5, 6, 7, 8, 9)),
    _c("role_contains_case_sensitive", {"role": {"contains": "USER"}}, NONE),
    _c("role_none", {"role": None}, _ids(2, 10)),
    _c("id_eq", {"id": "m03"}, _ids(3)),
    _c("memory_id_alias_in", {"memory_id": {"in": ["m01", "m02"]}}, _ids(1, 2)),
    _c("id_nin", {"id": {"nin": ["m01"]}}, _not(1)),
    # --- Mem0 grammar (issue 16): memory_ids, metadata.<key>, bare keys are metadata keys
    _c("memory_ids_list", {"memory_ids": ["m01", "m02"]}, _ids(1, 2)),
    _c("dotted_metadata_key", {"metadata.type": "pref"}, _ids(1, 3)),
    _c("oss_bare_key", {"type": "pref"}, _ids(1, 3)),
    _c("oss_bare_key_op", {"priority": {"gt": 5}}, _ids(1, 9)),
    _c("oss_bare_key_star", {"type": "*"}, _ids(1, 2, 3, 9)),
    _c("md_str_gt_text_only", {"metadata": {"priority": {"gt": "a"}}}, _ids(3)),
    _c("timestamp_alias", {"timestamp": {"gte": "1970-01-01"}}, ALL_IDS),
    _c("unicode_user", {"user_id": "用户一"}, _ids(7)),
    _c("quote_in_user", {"user_id": "o'brien"}, _ids(8)),
    # --- logic
    _c("or", {"OR": [{"user_id": "bo"}, {"agent_id": "support-bot"}]}, _ids(3, 4)),
    _c(
        "lowercase_nested",
        {"or": [{"user_id": "bo"}, {"and": [{"user_id": "alex"}, {"run_id": "r2"}]}]},
        _ids(3, 9),
    ),
    _c("not_dict", {"NOT": {"user_id": "alex"}}, _not(1, 2, 9)),
    _c(
        "not_list_means_neither",
        {"NOT": [{"user_id": "alex"}, {"app_id": "app2"}]},
        _ids(4, 5, 7, 8, 10),
    ),
    _c("not_of_ne", {"NOT": [{"agent_id": {"ne": "travel-bot"}}]}, _ids(1, 3, 9)),
    _c("not_not", {"NOT": {"NOT": {"user_id": "alex"}}}, _ids(1, 2, 9)),
    _c("not_and_with_missing", {"NOT": {"AND": [{"user_id": "alex"}, {"run_id": "r1"}]}}, _not(1)),
    _c(
        "and_not_or",
        {
            "AND": [
                {"app_id": "app1"},
                {"NOT": {"OR": [{"user_id": "carol"}, {"agent_id": "travel-bot"}]}},
            ]
        },
        _ids(2),
    ),
    _c(
        "logic_mixed_with_field",
        {"OR": [{"run_id": "r1"}, {"run_id": "r2"}], "user_id": "alex"},
        _ids(1, 9),
    ),
    # --- timestamps
    _c("created_gte_date", {"created_at": {"gte": "2024-07-01"}}, _ids(1, 2, 3, 6, 7, 8, 9)),
    _c("created_eq_date_whole_day", {"created_at": "2024-07-01"}, _ids(1, 2)),
    _c("created_lte_date_end_of_day", {"created_at": {"lte": "2024-07-01"}}, _ids(1, 2, 4, 5, 10)),
    _c("created_gt_date_next_day", {"created_at": {"gt": "2024-07-01"}}, _ids(3, 6, 7, 8, 9)),
    _c("created_lt_date", {"created_at": {"lt": "2024-07-01"}}, _ids(4, 5, 10)),
    _c("created_eq_datetime", {"created_at": "2024-07-02T00:00:00Z"}, _ids(3)),
    _c("created_eq_offset", {"created_at": "2024-07-02T02:00:00+02:00"}, _ids(3)),
    _c(
        "created_range_naive_is_utc",
        {"created_at": {"gte": "2024-07-01T12:00:00", "lt": "2024-07-03"}},
        _ids(2, 3),
    ),
    _c("created_ne_date", {"created_at": {"ne": "2024-07-01"}}, _not(1, 2)),
    _c("created_gte_date_object", {"created_at": {"gte": date(2024, 7, 15)}}, _ids(6, 7, 9)),
    _c(
        "created_lt_datetime_object",
        {"created_at": {"lt": datetime(2024, 1, 1, tzinfo=UTC)}},
        _ids(10),
    ),
    _c("updated_gt", {"updated_at": {"gt": "2024-08-01T00:00:00Z"}}, _ids(7, 9)),
    _c("expiration_star", {"expiration_date": "*"}, _ids(2, 3, 6, 9)),
    _c("expiration_none", {"expiration_date": None}, _not(2, 3, 6, 9)),
    _c("expiration_gt_date", {"expiration_date": {"gt": "2024-12-31"}}, _ids(2, 9)),
    _c("expiration_lte_date", {"expiration_date": {"lte": "2024-12-31"}}, _ids(3, 6)),
    _c("expiration_ne_includes_missing", {"expiration_date": {"ne": "2025-01-01"}}, _not(2)),
    _c("expiration_lt", {"expiration_date": {"lt": "2024-08-01"}}, _ids(6)),
    _c("not_expiration_gt", {"NOT": {"expiration_date": {"gt": "2024-12-31"}}}, _not(2, 9)),
    # --- categories
    _c("cat_eq", {"categories": "travel"}, _ids(3, 9)),
    _c("cat_in", {"categories": {"in": ["health", "shopping"]}}, _ids(2, 6)),
    _c("cat_nin", {"categories": {"nin": ["travel", "sports"]}}, _not(1, 3, 9)),
    _c("cat_list_has_all", {"categories": ["travel", "sports"]}, _ids(9)),
    _c("cat_contains", {"categories": {"contains": "sports"}}, _ids(1, 9)),
    _c("cat_contains_list", {"categories": {"contains": ["travel", "preferences"]}}, _ids(3)),
    _c("cat_ne", {"categories": {"ne": "travel"}}, _not(3, 9)),
    _c("cat_star_non_empty", {"categories": "*"}, _not(4, 5)),
    _c("cat_none_or_empty", {"categories": None}, _ids(4, 5)),
    _c("cat_unicode", {"categories": "饮料"}, _ids(7)),
    _c("cat_quote", {"categories": "x'y"}, _ids(8)),
    # --- keywords
    _c("kw_plain_icontains", {"keywords": "to play"}, _ids(1, 9)),
    _c("kw_contains_case", {"keywords": {"contains": "to play"}}, _ids(1)),
    _c("kw_icontains", {"keywords": {"icontains": "ALLERGIC"}}, _ids(2)),
    _c("kw_percent_literal", {"keywords": {"contains": "50%"}}, _ids(6)),
    _c("kw_only_percent", {"keywords": {"contains": "%"}}, _ids(6)),
    _c("kw_only_underscore", {"keywords": {"contains": "_"}}, _ids(6)),
    _c("kw_underscore_not_wildcard", {"keywords": {"contains": "5_%"}}, NONE),
    _c("kw_backslash", {"keywords": {"contains": "\\"}}, _ids(6)),
    _c("kw_backslash_t", {"keywords": {"icontains": "C:\\TEMP"}}, _ids(6)),
    _c("kw_emoji", {"keywords": "🍵"}, _ids(7)),
    _c("kw_rtl", {"keywords": "مرحبا"}, _ids(7)),
    _c("kw_cjk", {"keywords": {"contains": "喝茶"}}, _ids(7)),
    # --- metadata
    _c("md_eq", {"metadata": {"type": "pref"}}, _ids(1, 3)),
    _c("md_ne_includes_missing", {"metadata": {"type": {"ne": "pref"}}}, _not(1, 3)),
    _c("md_gt_skips_strings", {"metadata": {"priority": {"gt": 5}}}, _ids(1, 9)),
    _c("md_lte", {"metadata": {"priority": {"lte": 7}}}, _ids(1, 2)),
    _c("md_eq_int", {"metadata": {"priority": 7}}, _ids(1)),
    _c("md_eq_str_same_key", {"metadata": {"priority": "high"}}, _ids(3)),
    _c("md_in_numbers", {"metadata": {"priority": {"in": [3, 9]}}}, _ids(2, 9)),
    _c("md_in_strings", {"metadata": {"type": {"in": ["pref", "plan"]}}}, _ids(1, 3, 9)),
    _c("md_nin", {"metadata": {"type": {"nin": ["pref", "plan"]}}}, _not(1, 3, 9)),
    _c("md_bool_true", {"metadata": {"verified": True}}, _ids(1)),
    _c("md_bool_false", {"metadata": {"verified": False}}, _ids(2)),
    _c("md_bool_ne", {"metadata": {"verified": {"ne": True}}}, _not(1)),
    _c("md_bool_in", {"metadata": {"verified": {"in": [True, False]}}}, _ids(1, 2)),
    _c("md_star", {"metadata": {"type": "*"}}, _ids(1, 2, 3, 9)),
    _c("md_none", {"metadata": {"type": None}}, _not(1, 2, 3, 9)),
    _c("md_range", {"metadata": {"score": {"gte": 0.5, "lt": 1000}}}, _ids(1)),
    _c("md_int_vs_float", {"metadata": {"score": 1500}}, _ids(9)),
    _c("md_two_keys", {"metadata": {"type": "pref", "priority": 7}}, _ids(1)),
    _c("md_contains", {"metadata": {"type": {"contains": "re"}}}, _ids(1, 3)),
    _c("md_icontains", {"metadata": {"type": {"icontains": "PL"}}}, _ids(9)),
    _c("md_array_contains", {"metadata": {"tags": {"contains": "b"}}}, _ids(1, 9)),
    _c("md_array_contains_c", {"metadata": {"tags": {"contains": "c"}}}, _ids(9)),
    _c("md_dotted_key_is_literal", {"metadata": {"a.b": "*"}}, _ids(5)),
    _c("md_dotted_key_eq", {"metadata": {"a.b": "dotted"}}, _ids(5)),
    _c("md_quote_key", {"metadata": {"it's": "quoted key"}}, _ids(5)),
    _c("md_double_quote_key", {"metadata": {'k"q': "dq"}}, _ids(8)),
    _c("md_backslash_key", {"metadata": {"b\\s": 1}}, _ids(8)),
    _c("md_rtl_key", {"metadata": {"שלום": "*"}}, _ids(7)),
    _c("md_emoji_value", {"metadata": {"emoji": "🍵"}}, _ids(7)),
    _c("md_nested_present", {"metadata": {"nested": "*"}}, _ids(9)),
    _c("md_like_escaped", {"metadata": {"code": {"contains": "50%_"}}}, _ids(6)),
    _c("md_like_backslash", {"metadata": {"code": {"contains": "\\x"}}}, _ids(6)),
    _c("md_like_no_wildcards", {"metadata": {"code": {"contains": "5_%"}}}, NONE),
    _c("md_gte", {"metadata": {"discount": {"gte": 50}}}, _ids(6)),
    _c("md_missing_key_ne", {"metadata": {"missing_key": {"ne": "x"}}}, ALL_IDS),
    _c("md_missing_key_eq", {"metadata": {"missing_key": "x"}}, NONE),
    _c("not_md_gt", {"NOT": {"metadata": {"priority": {"gt": 5}}}}, _not(1, 9)),
    # --- injection: values match nothing, or only the row literally holding the text
    _c("inj_user", {"user_id": INJ}, NONE, True),
    _c("inj_user_quote_or", {"user_id": "alex' OR '1'='1"}, NONE, True),
    _c("inj_user_drop", {"user_id": DROP}, NONE, True),
    _c("inj_user_backslash", {"user_id": "\\"}, NONE, True),
    _c("inj_user_percent", {"user_id": "%"}, NONE, True),
    _c("inj_user_contains_percent", {"user_id": {"contains": "%"}}, NONE, True),
    _c("inj_user_contains_underscore", {"user_id": {"icontains": "_"}}, NONE, True),
    _c("inj_user_ne", {"user_id": {"ne": INJ}}, ALL_IDS, True),
    _c("inj_id", {"id": INJ}, NONE, True),
    _c("inj_role_rtl_override", {"role": "\u202euser"}, NONE, True),
    _c("inj_run_in", {"run_id": {"in": [INJ, "r1"]}}, _ids(1, 8), True),
    _c("inj_categories", {"categories": INJ}, NONE, True),
    _c("inj_categories_in", {"categories": {"in": [DROP, "x'y"]}}, _ids(8), True),
    _c("inj_kw_literal", {"keywords": {"contains": INJ}}, _ids(5), True),
    _c("inj_kw_drop_literal", {"keywords": {"contains": DROP}}, _ids(8), True),
    _c("inj_md_value", {"metadata": {"type": INJ}}, NONE, True),
    _c("inj_md_value_literal", {"metadata": {"note": INJ}}, _ids(5), True),
    _c("inj_md_key_literal", {"metadata": {INJ: "*"}}, _ids(8), True),
    _c("inj_md_key_drop", {"metadata": {DROP: "x"}}, NONE, True),
    _c("inj_md_key_jsonpath", {"metadata": {"$": "*"}}, NONE, True),
    _c("inj_md_key_brackets", {"metadata": {"a\\\"b']": "*"}}, NONE, True),
    _c("inj_md_key_index", {"metadata": {"[0]": "*"}}, NONE, True),
    _c("inj_md_contains", {"metadata": {"note": {"contains": "' OR"}}}, _ids(5), True),
    _c("inj_long_value", {"agent_id": "x' OR '" * 2000}, NONE, True),
    _c("inj_long_like", {"keywords": {"contains": "%_" * 5000}}, NONE, True),
    _c("inj_emoji_user", {"user_id": "🍵' OR 1=1 --"}, NONE, True),
    _c("inj_not", {"NOT": {"user_id": INJ}}, ALL_IDS, True),
    # --- invalid input
    _c("err_unknown_op_on_metadata_key", {"unknown_field": {"bogus": "x"}}, BAD),
    _c("err_gt_on_string", {"user_id": {"gt": "a"}}, BAD),
    _c("err_unknown_op", {"user_id": {"bogus": "a"}}, BAD),
    _c("err_int_for_string", {"user_id": {"eq": 5}}, BAD),
    _c("err_dict_for_string", {"user_id": {"eq": {"x": 1}}}, BAD),
    _c("err_empty_in", {"user_id": {"in": []}}, BAD),
    _c("err_in_not_list", {"user_id": {"in": "alex"}}, BAD),
    _c("err_in_mixed", {"user_id": {"in": ["alex", 1]}}, BAD),
    _c("err_empty_ops", {"user_id": {}}, BAD),
    _c("err_empty_and", {"AND": []}, BAD),
    _c("err_or_not_list", {"OR": {"user_id": "a"}}, BAD),
    _c("err_empty_not", {"NOT": []}, BAD),
    _c("err_empty_child", {"AND": [{}]}, BAD),
    _c("err_string_child", {"AND": ["user_id"]}, BAD),
    _c("err_bad_date", {"created_at": "not a date"}, BAD),
    _c("err_date_injection", {"created_at": "2024-07-01' OR 1=1 --"}, BAD),
    _c("err_number_date", {"created_at": {"gt": 5}}, BAD),
    _c("err_in_date", {"created_at": {"in": ["2024-01-01"]}}, BAD),
    _c("err_contains_date", {"created_at": {"contains": "2024"}}, BAD),
    _c("err_nan", {"metadata": {"priority": {"gt": float("nan")}}}, BAD),
    _c("err_inf", {"metadata": {"priority": {"gt": float("inf")}}}, BAD),
    _c("err_bool_as_number", {"metadata": {"priority": {"gt": True}}}, BAD),
    _c("err_list_gt", {"metadata": {"priority": {"gt": ["5"]}}}, BAD),
    _c("err_huge_int", {"metadata": {"priority": {"gt": 10**400}}}, BAD),
    _c("err_md_nested_value", {"metadata": {"nested": {"x": 1}}}, BAD),
    _c("err_md_list_value", {"metadata": {"tags": ["a", "b"]}}, BAD),
    _c("err_md_in_mixed", {"metadata": {"k": {"in": ["a", 1]}}}, BAD),
    _c("err_md_none_in", {"metadata": {"k": {"in": [None]}}}, BAD),
    _c("err_md_empty_key", {"metadata": {"": "x"}}, BAD),
    _c("err_md_long_key", {"metadata": {"k" * 129: "x"}}, BAD),
    _c("err_md_nul_key", {"metadata": {"a\x00b": "x"}}, BAD),
    _c("err_md_not_mapping", {"metadata": "x"}, BAD),
    _c("err_md_empty", {"metadata": {}}, BAD),
    _c("err_nul_value", {"user_id": "a\x00b"}, BAD),
    _c("err_surrogate", {"user_id": "\ud800"}, BAD),
    _c("err_kw_ne", {"keywords": {"ne": "x"}}, BAD),
    _c("err_kw_none", {"keywords": None}, BAD),
    _c("err_kw_list", {"keywords": ["a"]}, BAD),
    _c("err_id_star", {"id": "*"}, BAD),
    _c("err_id_none", {"id": None}, BAD),
    _c("err_memory_ids_not_list", {"memory_ids": "m01"}, BAD),
    _c("err_dotted_empty_key", {"metadata.": "x"}, BAD),
    _c("err_cat_icontains", {"categories": {"icontains": "x"}}, BAD),
    _c("err_cat_gt", {"categories": {"gt": "x"}}, BAD),
    _c("err_too_many_in", {"user_id": {"in": ["a"] * 1001}}, BAD),
    _c("err_non_str_key", {1: "x"}, BAD),
    _c("err_op_star", {"user_id": {"*": True}}, BAD),
]
