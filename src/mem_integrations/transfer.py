"""Moving memories in and out of a store: JSON lines and LOCOMO-format conversations.

Export writes one :class:`MemoryRecord` dict per line (``MemoryRecord.to_dict()``: id, scope
ids, metadata, categories, actor, role, timestamps, expiration). Import reads three kinds of
line, so the same file format serves backups, migrations and seeding from chat logs:

* a memory record (has ``"memory"``): written with :meth:`Memory.put` under its own id,
  keeping its timestamps, so ``export`` -> ``import`` -> ``export`` is the identity;
* ``{"messages": [...], "user_id": ..., ...}``: passed to :meth:`Memory.add` (verbatim storage);
* one chat message ``{"role": "user", "content": "...", "user_id": ...}``: the same, alone.

Every line is parsed and checked before the first write, so a typo on line 900 of a file
writes nothing. LOCOMO conversations (Maharana et al., 2024) become one memory per turn.
This module is click-free: the CLI adds progress bars, library users can call it directly.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from .core.errors import ValidationError
from .core.filters import SCOPE_FIELDS
from .core.memory import Memory
from .core.records import MemoryRecord

__all__ = [
    "ImportItem",
    "apply_items",
    "detect_format",
    "export_records",
    "parse_jsonl",
    "parse_locomo",
    "read_items",
]

Format = Literal["jsonl", "locomo"]

_RECORD_KEYS = frozenset({
    "id", "memory", "hash", "metadata", "categories", *SCOPE_FIELDS, "actor_id", "role",
    "created_at", "updated_at", "expiration_date", "score",
})  # fmt: skip
_MESSAGES_KEYS = frozenset({"messages", *SCOPE_FIELDS, "metadata", "categories", "expiration_date"})
_MESSAGE_KEYS = frozenset({"role", "content", "name", *SCOPE_FIELDS, "metadata", "categories",
                           "expiration_date"})  # fmt: skip
_SESSION = re.compile(r"^session_(\d+)$")
_LOCOMO_DATE_FORMATS = ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y")


@dataclass(frozen=True)
class ImportItem:
    """One validated unit of work: a record to put, or messages to add.

    ``where`` says where it came from (``"line 3"``, ``"conv-26 D1:3"``) for error messages.
    """

    where: str
    kind: Literal["record", "messages"]
    args: dict[str, Any] = field(default_factory=dict)


def export_records(
    memory: Memory,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    app_id: str | None = None,
    page_size: int = 1000,
) -> Iterator[MemoryRecord]:
    """Every memory of the given scope (or of the whole store), expired ones included.

    Without a scope, the store is walked entity by entity (``users()``), each memory yielded
    once even when it belongs to a user and an agent at the same time.
    """
    given = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id, "app_id": app_id}
    scopes: list[dict[str, Any]]
    if any(given.values()):
        scopes = [{k: v for k, v in given.items() if v is not None}]
    else:
        kinds = {"user": "user_id", "agent": "agent_id", "run": "run_id", "app": "app_id"}
        scopes = [{kinds[e["type"]]: e["id"]} for e in memory.users(show_expired=True)["results"]]
    seen: set[str] = set()
    for scope in scopes:
        page: int | None = 1
        while page is not None:
            pg = memory.get_all_page(**scope, page=page, page_size=page_size, show_expired=True)
            for rec in pg.results:
                if rec.id not in seen:
                    seen.add(rec.id)
                    yield rec
            page = pg.next


def detect_format(path: Path) -> Format:
    """LOCOMO files are one JSON array of samples with a ``conversation``; all else is JSONL."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20).lstrip()
    return "locomo" if head.startswith(b"[") and b'"conversation"' in head else "jsonl"


def read_items(
    path: Path, fmt: str | None = None, scope: Mapping[str, Any] | None = None
) -> list[ImportItem]:
    """Parse and validate a whole file; ``scope`` fills in ids a line does not name."""
    fmt = fmt or detect_format(path)
    text = path.read_text(encoding="utf-8")
    if fmt == "locomo":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{path.name}: invalid JSON: {exc}") from None
        return parse_locomo(data, **(scope or {}))
    return parse_jsonl(text.splitlines(), **(scope or {}))


def _timestamp(value: Any, where: str, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValidationError(f"{where}: {name} must be an ISO-8601 datetime, got {value!r}")


def _scope(obj: Mapping[str, Any], default: Mapping[str, str | None], where: str) -> dict[str, Any]:
    """Use the line's own scope ids, or the defaults when it names none."""
    own = {k: obj[k] for k in SCOPE_FIELDS if obj.get(k) is not None}
    out = own or {k: v for k, v in default.items() if v is not None}
    if not out:
        raise ValidationError(
            f"{where}: no scope: give the line a user_id/agent_id/run_id/app_id, or pass one "
            "as an option"
        )
    return out


def parse_jsonl(lines: Iterable[str], **default: str | None) -> list[ImportItem]:
    """Validate JSON lines into import items (blank lines are skipped)."""
    items: list[ImportItem] = []
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"line {n}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{where}: invalid JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise ValidationError(f"{where}: expected a JSON object")
        items.append(_jsonl_item(obj, default, where))
    return items


def _jsonl_item(obj: dict[str, Any], default: Mapping[str, str | None], where: str) -> ImportItem:
    if "memory" in obj:
        kind, allowed = "record", _RECORD_KEYS
    elif "messages" in obj:
        kind, allowed = "messages", _MESSAGES_KEYS
    elif "content" in obj:
        kind, allowed = "message", _MESSAGE_KEYS
    else:
        raise ValidationError(
            f'{where}: expected a memory record ("memory"), {{"messages": [...]}} or a message '
            '({"role", "content"})'
        )
    unknown = set(obj) - allowed
    if unknown:
        raise ValidationError(f"{where}: unknown field(s) {sorted(unknown)}")
    args: dict[str, Any] = {
        **_scope(obj, default, where),
        "metadata": obj.get("metadata"),
        "categories": obj.get("categories"),
        "expiration_date": obj.get("expiration_date"),
    }
    if kind == "record":
        memory_id = obj.get("id") or str(uuid.uuid4())
        if not isinstance(memory_id, str):
            raise ValidationError(f"{where}: id must be a string")
        args.update(
            memory_id=memory_id,
            text=obj["memory"],
            created_at=_timestamp(obj.get("created_at"), where, "created_at"),
            updated_at=_timestamp(obj.get("updated_at"), where, "updated_at"),
            actor_id=obj.get("actor_id"),
            role=obj.get("role"),
        )
        return ImportItem(where, "record", args)
    if kind == "message":
        msg = {k: obj[k] for k in ("role", "content", "name") if k in obj}
        args["messages"] = [msg]
    else:
        args["messages"] = obj["messages"]
    return ImportItem(where, "messages", args)


def _session_start(raw: Any, where: str) -> datetime:
    if isinstance(raw, str):
        for fmt in _LOCOMO_DATE_FORMATS:
            try:
                return datetime.strptime(raw.strip(), fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
    raise ValidationError(f"{where}: unrecognised session date {raw!r}")


def parse_locomo(data: Any, **default: str | None) -> list[ImportItem]:
    """One memory per LOCOMO turn, in a user scope per conversation (its ``sample_id``).

    A turn reads ``<speaker> said, "<text>"`` (plus `` and shared <caption>`` for images),
    is stamped with its session's date (turn *i* at *i* seconds after the session start, so
    listings keep conversation order), and keeps ``dia_id``/``session`` in metadata. The id is
    ``<sample_id>:<dia_id>``, so importing the same file twice changes nothing.
    """
    if not isinstance(data, list):
        raise ValidationError("a LOCOMO file is a JSON array of samples")
    items: list[ImportItem] = []
    for i, sample in enumerate(data):
        if not isinstance(sample, dict) or not isinstance(sample.get("conversation"), dict):
            raise ValidationError(f"sample {i}: no 'conversation' object")
        sample_id = str(sample.get("sample_id") or f"sample-{i}")
        conv = sample["conversation"]
        scope = {k: v for k, v in default.items() if v is not None}
        scope.setdefault("user_id", sample_id)
        sessions = sorted((int(m.group(1)), key) for key in conv if (m := _SESSION.match(key)))
        for number, key in sessions:
            where = f"{sample_id} {key}"
            start = _session_start(conv.get(f"{key}_date_time"), where)
            turns = conv[key]
            if not isinstance(turns, list):
                raise ValidationError(f"{where}: expected a list of turns")
            for t, turn in enumerate(turns):
                item = _locomo_turn(turn, sample_id, number, start + timedelta(seconds=t), scope)
                if item is not None:
                    items.append(item)
    return items


def _locomo_turn(
    turn: Any, sample_id: str, session: int, stamp: datetime, scope: Mapping[str, Any]
) -> ImportItem | None:
    where = f"{sample_id} session_{session}"
    if not isinstance(turn, dict) or not isinstance(turn.get("dia_id"), str):
        raise ValidationError(f"{where}: every turn needs a 'dia_id'")
    speaker = str(turn.get("speaker") or "someone")
    text = str(turn.get("text") or "").strip()
    caption = str(turn.get("blip_caption") or "").strip()
    if not text and not caption:
        return None
    body = f'{speaker} said, "{text}"' if text else f"{speaker} shared {caption}"
    if text and caption:
        body += f" and shared {caption}"
    return ImportItem(f"{sample_id} {turn['dia_id']}", "record", {
        **scope, "memory_id": f"{sample_id}:{turn['dia_id']}", "text": body,
        "metadata": {"dia_id": turn["dia_id"], "session": session,
                     "session_date": stamp.date().isoformat()},
        "categories": None, "expiration_date": None, "created_at": stamp, "updated_at": stamp,
        "actor_id": speaker, "role": "user",
    })  # fmt: skip


def apply_items(
    memory: Memory, items: Sequence[ImportItem], batch_size: int = 256
) -> Iterator[tuple[list[ImportItem], list[str]]]:
    """Write items in order; yields each written group and its events as it goes.

    Runs of records go through :meth:`Memory.put_many` (one embedding batch and one commit
    per ``batch_size``), messages through :meth:`Memory.add` one line at a time. Events are
    ``ADD``/``NONE`` for messages and ``PUT`` per record.
    """
    i = 0
    while i < len(items):
        item = items[i]
        if item.kind == "messages":
            result = memory.add_events(infer=False, **item.args)
            yield [item], [e.event for e in result.results]
            i += 1
            continue
        group = [item]
        while (i + len(group) < len(items) and len(group) < batch_size
               and items[i + len(group)].kind == "record"):  # fmt: skip
            group.append(items[i + len(group)])
        memory.put_many([g.args for g in group])
        yield group, ["PUT"] * len(group)
        i += len(group)
