"""LLM fact extraction and reconciliation (ADD / UPDATE / DELETE / NONE).

The write path (``write.add``) turns messages into a list of :class:`Operation` and applies
them in one commit.
Without an LLM the operations are verbatim ADDs; with one, :func:`plan_with_llm` asks it.

Two pipelines share the prompts, schemas and safety rules:

- ``"single"`` (default, one LLM call per add): retrieve the memories most similar to each
  storable turn, then ask the model to extract facts *and* decide ADD / UPDATE / DELETE / NONE
  against those memories in one answer. Same call count as Mem0 OSS (whose default only adds),
  with the consistency of the classic pipeline; a request like "delete all of my food
  preferences" needs no fact to be extracted first.
- ``"two_step"`` (classic Mem0, two calls): extract facts, retrieve per fact, reconcile.

Safety does not depend on the model behaving: it only ever sees short local ids ("0", "1",
...) for memories retrieved from the call's own scope, and an id it makes up, or copies from
elsewhere, maps to nothing and is dropped. Malformed answers are retried once, then
:class:`~mem_integrations.core.errors.ExtractionError` is raised before anything is written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..clock import Clock
from ..config import Limits, MemoryConfig
from ..errors import ExtractionError, LLMError, ValidationError
from ..messages import Message, bad_text_reason, is_agent_only, storable_messages
from ..records import Scope, SearchHit
from . import prompts as P
from .llm import StructuredLLM, StructuredOutputError, is_answer_error, validate_output

__all__ = [
    "ExtractionMode",
    "FactList",
    "MemoryAction",
    "MemoryPlan",
    "Operation",
    "PlanContext",
    "ask",
    "plan_with_llm",
]

log = logging.getLogger(__name__)

ExtractionMode = Literal["single", "two_step"]


class PlanContext(Protocol):
    """What planning needs from its caller; ``Memory`` satisfies it, so does the write path.

    Planning receives this rather than importing the facade: data flows one way.
    """

    llm: Any
    config: MemoryConfig
    clock: Clock
    limits: Limits

    def search_hits(self, query: str, **kwargs: Any) -> list[SearchHit]:
        """The scope's memories most similar to ``query`` (``Memory.search_hits``'s args)."""
        ...


EventName = Literal["ADD", "UPDATE", "DELETE", "NONE"]
T = TypeVar("T", bound=BaseModel)

#: Similar memories shown per retrieval query (a turn in "single", a fact in "two_step").
RELATED_PER_TURN = 10
RELATED_PER_FACT = 5
#: Caps that keep the prompt bounded however long the conversation is.
MAX_RELATED = 50
MAX_QUERIES = 16


@dataclass(frozen=True)
class Operation:
    """One planned change. ``memory_id`` is a real id, already mapped and scope-checked.

    ``NONE`` changes nothing; it is reported in the add result (with the memory's current
    text) so callers can see that the information was already known.
    """

    event: EventName
    text: str | None = None
    memory_id: str | None = None
    categories: tuple[str, ...] | None = None
    actor_id: str | None = None
    role: str | None = None


# -- what the model answers ------------------------------------------------------------------


class MemoryAction(BaseModel):
    """One decision about one memory: ADD a new fact, or UPDATE / DELETE / NONE an existing one."""

    model_config = ConfigDict(extra="ignore")

    event: EventName = Field(description="ADD, UPDATE, DELETE or NONE")
    id: str | None = Field(
        default=None,
        description='id of an existing memory ("0", "1", ...); required unless event is ADD',
    )
    text: str | None = Field(
        default=None, description="the fact as one self-contained sentence; for ADD and UPDATE"
    )
    categories: list[str] = Field(
        default_factory=list, description="categories from the given list; for ADD and UPDATE"
    )

    @field_validator("event", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        # Models often write 0 for "0"; an int index is unambiguous, so accept it.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _complete(self) -> MemoryAction:
        if self.event in ("ADD", "UPDATE") and not (self.text and self.text.strip()):
            raise ValueError(f"{self.event} needs a non-empty text")
        if self.event != "ADD" and not self.id:
            raise ValueError(f"{self.event} needs the id of an existing memory")
        return self


class MemoryPlan(BaseModel):
    """Every change to the memory store that the conversation calls for."""

    actions: list[MemoryAction] = Field(default_factory=list)


class FactList(BaseModel):
    """The facts worth remembering from a conversation, one self-contained sentence each."""

    facts: list[str] = Field(default_factory=list)


# -- asking ----------------------------------------------------------------------------------


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 500 else text[:497] + "..."


def ask(
    llm: StructuredLLM,
    schema: type[T],
    messages: Sequence[Message],
    check: Callable[[T], None] | None = None,
) -> T:
    """One structured call, retried once (with the error shown) when the answer is unusable.

    Only an answer in the wrong shape is retried; a ``ValueError`` that is not one (a context
    overflow, an unsupported argument) is raised at once as :class:`LLMError`.
    """
    attempt = list(messages)
    error: ValueError | None = None
    for _ in range(2):
        try:
            out = validate_output(schema, llm.structured(schema, attempt))
            if check is not None:
                check(out)
            return out
        except ValueError as exc:
            if not is_answer_error(exc):
                raise LLMError(
                    f"the LLM call failed without an answer ({type(exc).__name__}: "
                    f"{_brief(exc)}); nothing was written"
                ) from exc
            error = exc
            log.warning("unusable %s from the LLM: %s", schema.__name__, _brief(exc))
            retry = P.render(P.RETRY_MESSAGE, error=_brief(exc))
            attempt = [*messages, Message("user", retry)]
    assert error is not None
    raise ExtractionError(
        f"the LLM returned no valid {schema.__name__} after one retry: {_brief(error)}; "
        "nothing was written"
    ) from error


# -- planning --------------------------------------------------------------------------------


def resolve_categories(
    store_level: Sequence[Any] | None, call_level: Sequence[Any] | None
) -> dict[str, str]:
    """Return the default categories plus custom ones (names, or Mem0-style ``{name: text}``)."""
    out = dict(P.DEFAULT_CATEGORIES)
    for source in (store_level, call_level):
        if source is None:
            continue
        if isinstance(source, (str, Mapping)) or not isinstance(source, Sequence):
            raise ValidationError("custom_categories must be a list of names or {name: text}")
        for item in source:
            pairs = item.items() if isinstance(item, Mapping) else [(item, "")]
            for name, description in pairs:
                if not isinstance(name, str) or not name.strip() or "\x00" in name:
                    raise ValidationError(f"a custom category must be a name, got {name!r}")
                out[name.strip()] = str(description)
    return out


def _check_texts(limit: int) -> Callable[[BaseModel], None]:
    def check(out: BaseModel) -> None:
        if isinstance(out, MemoryPlan):
            texts = [a.text or "" for a in out.actions]
        else:
            texts = cast(FactList, out).facts
        for text in texts:
            if len(text) > limit or "\x00" in text:
                raise StructuredOutputError(f"a fact is over {limit} characters or contains NUL")
            reason = bad_text_reason(text)  # e.g. a lone surrogate: valid str, not UTF-8
            if reason:
                raise StructuredOutputError(f"a fact {reason}")

    return check


def _queries(texts: Sequence[str], max_chars: int) -> list[str]:
    """Build retrieval queries: one per text, or contiguous groups when there are many."""
    texts = [t.strip() for t in texts if t.strip()]
    if len(texts) > MAX_QUERIES:
        size = -(-len(texts) // MAX_QUERIES)
        texts = ["\n".join(texts[i : i + size]) for i in range(0, len(texts), size)]
    return [t[:max_chars] for t in texts]


def _related(
    memory: PlanContext, scope: Scope, texts: Sequence[str], per_query: int
) -> list[SearchHit]:
    """Find the scope's memories most similar to any of ``texts`` (deduplicated, in order)."""
    found: dict[str, SearchHit] = {}
    for query in _queries(texts, memory.limits.max_text_chars):
        hits = memory.search_hits(
            query, top_k=per_query, decay=False, record_access=False, user_id=scope.user_id,
            agent_id=scope.agent_id, run_id=scope.run_id, app_id=scope.app_id,
        )  # fmt: skip
        for hit in hits:
            found.setdefault(hit.id, hit)
            if len(found) >= MAX_RELATED:
                return list(found.values())
    return list(found.values())


def _author(turns: Sequence[Message], role: str) -> str | None:
    names = {m.name for m in turns if m.role == role}
    return next(iter(names)) if len(names) == 1 else None


def _pick(raw: Sequence[str], known: Mapping[str, str]) -> tuple[str, ...]:
    """Only categories from the allowed list (matched case-insensitively), each once."""
    out = (known.get(c.strip().lower()) for c in raw if isinstance(c, str))
    return tuple(dict.fromkeys(c for c in out if c is not None))


def to_operations(
    plan: MemoryPlan,
    related: Sequence[SearchHit],
    categories: Mapping[str, str],
    *,
    role: str,
    actor_id: str | None,
) -> list[Operation]:
    """Map local ids back to stored ids; drop what names no retrieved memory."""
    by_local = {str(i): hit for i, hit in enumerate(related)}
    known = {name.lower(): name for name in categories}
    touched: set[str] = set()
    ops: list[Operation] = []
    for action in plan.actions:
        cats = _pick(action.categories, known)
        if action.event == "ADD":
            assert action.text is not None
            ops.append(Operation("ADD", action.text.strip(), categories=cats, actor_id=actor_id,
                                 role=role))  # fmt: skip
            continue
        hit = by_local.get(action.id or "")
        if hit is None:
            log.warning("LLM named memory id %r, which it was not shown; ignored", action.id)
            continue
        if hit.id in touched:
            log.warning("LLM decided twice about memory %r; kept the first decision", action.id)
            continue
        touched.add(hit.id)
        text = (action.text or "").strip()
        if action.event == "NONE" or (action.event == "UPDATE" and text == hit.memory):
            ops.append(Operation("NONE", hit.memory, memory_id=hit.id))
        elif action.event == "DELETE":
            ops.append(Operation("DELETE", memory_id=hit.id))
        else:
            merged = tuple(dict.fromkeys([*hit.categories, *cats]))
            ops.append(Operation("UPDATE", text, memory_id=hit.id, categories=merged))
    return ops


_WORDS = re.compile(r"[^\W_]+")
_EXAMPLES = {" ".join(_WORDS.findall(e.casefold())): e for e in P.EXAMPLE_FACTS}


def echoed_example(text: str, conversation: Sequence[Message]) -> bool:
    """Whether ``text`` is one of the prompt's examples that the conversation does not support.

    An example counts as supported when at least half of its words of three letters or more
    appear in the conversation (the user really said they are vegetarian, or that their
    daughter is called Mia).
    """
    key = " ".join(_WORDS.findall(text.casefold()))
    example = _EXAMPLES.get(key)
    if example is None:
        return False
    said = set(_WORDS.findall(" ".join(m.content for m in conversation).casefold()))
    words = [w for w in key.split() if len(w) >= 3]
    return sum(w in said for w in words) * 2 < len(words)


def _drop_echoes(plan: MemoryPlan, conversation: Sequence[Message]) -> MemoryPlan:
    keep = []
    for action in plan.actions:
        if action.text and echoed_example(action.text, conversation):
            log.warning("LLM copied the prompt's example %r; ignored", action.text)
            continue
        keep.append(action)
    return MemoryPlan(actions=keep)


def plan_with_llm(
    memory: PlanContext,
    messages: Sequence[Message],
    scope: Scope,
    *,
    prompt: str | None = None,
    custom_categories: Sequence[Any] | None = None,
    mode: ExtractionMode | None = None,
) -> list[Operation]:
    """Extract facts and reconcile them with what the scope already holds.

    Validates its own input (prompt, custom categories) before the first LLM call; makes no
    call at all when no turn could hold a fact (e.g. only system messages).
    """
    llm = cast(StructuredLLM, memory.llm)
    mode = mode or getattr(memory.config, "extraction_mode", "single")
    if mode not in get_args(ExtractionMode):
        raise ValidationError(f"extraction mode must be 'single' or 'two_step', got {mode!r}")
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        raise ValidationError("prompt must be a non-empty string")
    categories = resolve_categories(memory.config.custom_categories, custom_categories)
    turns = storable_messages(messages, scope)
    if not turns:
        return []
    agent_only = is_agent_only(scope)
    role = "assistant" if agent_only else "user"
    instructions = (
        prompt
        or memory.config.prompt
        or (P.AGENT_INSTRUCTIONS if agent_only else P.USER_INSTRUCTIONS)
    )
    today = memory.clock.now().date()
    check = _check_texts(memory.limits.max_text_chars)

    if mode == "single":
        related = _related(memory, scope, [t.content for t in turns], RELATED_PER_TURN)
        msgs = P.plan_messages(
            instructions, messages, [h.memory for h in related], today=today,
            categories=categories,
        )  # fmt: skip
        plan = _drop_echoes(ask(llm, MemoryPlan, msgs, check), messages)
    else:
        fact_msgs = P.facts_messages(instructions, messages, today=today, categories=categories)
        facts = [f.strip() for f in ask(llm, FactList, fact_msgs, check).facts if f.strip()]
        facts = [f for f in facts if not echoed_example(f, messages)]
        if not facts:
            return []
        related = _related(memory, scope, facts, RELATED_PER_FACT)
        msgs = P.reconcile_messages(
            facts, [h.memory for h in related], today=today, categories=categories
        )
        plan = ask(llm, MemoryPlan, msgs, check)
    return to_operations(plan, related, categories, role=role, actor_id=_author(turns, role))
