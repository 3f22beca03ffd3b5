"""Mem0's platform REST routes over one ``Memory``: what ``mem0.MemoryClient`` 2.x calls.

Paths, payloads and answers follow Mem0's client source and ``docs/openapi.json``. Routes are
plain ``def`` functions: FastAPI runs them on its thread pool, and ``Memory`` is safe to share
across threads (the core's concurrency suite holds it to that). Every call is bound to the
caller's tenant first (see :mod:`.auth`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from mem_integrations import Memory, MemoryNotFoundError, SearchHit, ValidationError
from mem_integrations.core.records import scope_in_filters

from .auth import SCOPE_KEYS, Tenant
from .entities import delete_entity, list_entities
from .models import AddBody, BatchBody, FeedbackBody, ListBody, SearchBody, UpdateBody

__all__ = ["memory_of", "owned", "router", "tenant_of"]

router = APIRouter()


def memory_of(request: Request) -> Memory:
    """The process's shared ``Memory``."""
    memory: Memory = request.app.state.memory
    return memory


def tenant_of(request: Request) -> Tenant:
    """The caller, from ``Authorization: Token <key>`` (401 when missing or unknown)."""
    tenant: Tenant = request.app.state.auth.tenant(request.headers.get("authorization"))
    return tenant


MemoryDep = Annotated[Memory, Depends(memory_of)]
TenantDep = Annotated[Tenant, Depends(tenant_of)]


def owned(memory: Memory, tenant: Tenant, memory_id: str, **kw: Any) -> dict[str, Any]:
    """One memory, if the caller may see it; another tenant's id is simply not found."""
    record = memory.get(memory_id, **kw)
    if not tenant.owns(record):
        raise MemoryNotFoundError(f"no memory with id {memory_id!r} in this scope")
    return record


def merge_filters(filters: Mapping[str, Any] | None, *extra: Mapping[str, Any]) -> Any:
    """AND the caller's filters with the extra conditions a route's options stand for."""
    parts = [p for p in (filters, *extra) if p]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"AND": list(parts)}


def pick(row: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    """Mem0's ``fields`` option: only the named keys of each result."""
    return row if not fields else {k: row[k] for k in fields if k in row}


def hit_json(hit: SearchHit) -> dict[str, Any]:
    """A search hit plus what made its score: relevance, and the factor decay applied."""
    out = hit.to_dict()
    factor = hit.score / hit.relevance if hit.relevance > 0 else 1.0
    out["score_breakdown"] = {"relevance": hit.relevance, "decay": factor}
    return out


@router.get("/v1/ping/", tags=["auth"])
def ping(tenant: TenantDep) -> dict[str, Any]:
    """Key check that Mem0's clients run on construction.

    Their constructor insists on an org and a project id: one store is one project here, and
    the project id names the key (a fingerprint, never the key itself).
    """
    scope = "all" if tenant.unrestricted else tenant.listing_scopes()
    return {"status": "ok", "org_id": "mem_integrations", "project_id": tenant.label,
            "user_email": None, "scope": scope}  # fmt: skip


@router.post("/v3/memories/add/", tags=["memories"])
@router.post("/v1/memories/", tags=["memories"], include_in_schema=False)
def add(body: AddBody, memory: MemoryDep, tenant: TenantDep) -> dict[str, Any]:
    """Store messages (verbatim without an LLM); one event per memory touched."""
    if memory.llm is None and (body.custom_instructions or body.custom_categories):
        raise ValidationError(
            "custom_instructions and custom_categories need an LLM; this server stores "
            "messages verbatim"
        )
    scope = tenant.bind(scope_in_filters(body.filters, dict(body.scope_args())))
    result = memory.add(
        body.messages, **scope, metadata=body.metadata, categories=body.categories,
        expiration_date=body.expiration_date, infer=body.infer,
        prompt=body.custom_instructions, custom_categories=body.custom_categories,
    )  # fmt: skip
    events = [{**e, "data": {"memory": e["memory"]}} for e in result["results"]]
    return {"results": events, "status": "SUCCEEDED"}


@router.post("/v3/memories/search/", tags=["memories"])
@router.post("/v2/memories/search/", tags=["memories"], include_in_schema=False)
def search(body: SearchBody, memory: MemoryDep, tenant: TenantDep) -> dict[str, Any]:
    """Hybrid search in one scope; ``score_breakdown`` shows relevance and decay."""
    scope = tenant.bind(body.scope_args(), body.filters)
    filters = merge_filters(
        body.filters,
        {"categories": {"in": body.categories}} if body.categories else {},
        {"metadata": body.metadata} if body.metadata else {},
    )
    hits = memory.search_hits(
        body.query, **scope, filters=filters, top_k=body.top_k, limit=body.limit,
        threshold=body.threshold, show_expired=body.show_expired, decay=body.decay,
    )  # fmt: skip
    return {"results": [pick(hit_json(h), body.fields) for h in hits]}


@router.post("/v3/memories/", tags=["memories"])
@router.post("/v2/memories/", tags=["memories"], include_in_schema=False)
def list_memories(
    body: ListBody,
    request: Request,
    memory: MemoryDep,
    tenant: TenantDep,
    page: Annotated[int | None, Query()] = None,
    page_size: Annotated[int | None, Query()] = None,
) -> dict[str, Any]:
    """One page of a scope, newest first: ``{count, next, previous, results}``."""
    scope = tenant.bind(body.scope_args(), body.filters)
    filters = merge_filters(
        body.filters,
        {"created_at": {"gte": body.start_date}} if body.start_date else {},
        {"created_at": {"lte": body.end_date}} if body.end_date else {},
    )
    number = page if page is not None else (body.page or 1)
    size = page_size if page_size is not None else (body.page_size or 100)
    out = memory.get_all(
        **scope, filters=filters, categories=body.categories, keywords=body.keywords,
        page=number, page_size=size, show_expired=body.show_expired,
    )  # fmt: skip
    for key in ("next", "previous"):
        if out.get(key) is not None:
            out[key] = str(request.url.include_query_params(page=out[key], page_size=size))
    out["results"] = [pick(r, body.fields) for r in out["results"]]
    return out


@router.get("/v1/memories/{memory_id}/", tags=["memories"])
def get_memory(memory_id: str, memory: MemoryDep, tenant: TenantDep) -> dict[str, Any]:
    """One memory by id."""
    return owned(memory, tenant, memory_id)


@router.put("/v1/memories/{memory_id}/", tags=["memories"])
def update_memory(
    memory_id: str, body: UpdateBody, memory: MemoryDep, tenant: TenantDep
) -> dict[str, Any]:
    """Change text, metadata, categories or expiration (``null`` clears the latter three)."""
    given = {k: getattr(body, k) for k in body.model_fields_set if k != "text"}
    if body.text is None and not given:
        raise ValidationError("give at least one of text, metadata, categories, expiration_date")
    record = owned(memory, tenant, memory_id)
    return memory.update(memory_id, text=body.text, **given, **tenant.confine(record))


@router.delete("/v1/memories/{memory_id}/", tags=["memories"])
def delete_memory(
    memory_id: str,
    memory: MemoryDep,
    tenant: TenantDep,
    delete_linked: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    """Delete one memory. Updates rewrite in place here, so there is never a linked chain."""
    record = owned(memory, tenant, memory_id, show_expired=True)
    out = memory.delete(memory_id, **tenant.confine(record))
    if delete_linked:
        out["cascade_count"] = 0
    return out


@router.delete("/v1/memories/", tags=["memories"])
def delete_all(request: Request, memory: MemoryDep, tenant: TenantDep) -> dict[str, Any]:
    """Every memory of the scope named by the query (``user_id``, ``agent_id``, ...)."""
    unknown = set(request.query_params) - set(SCOPE_KEYS)
    if unknown:
        raise ValidationError(f"unsupported query parameters {sorted(unknown)}")
    scope = tenant.bind(dict(request.query_params))
    return memory.delete_all(**scope)


@router.get("/v1/memories/{memory_id}/history/", tags=["memories"])
def history(memory_id: str, memory: MemoryDep, tenant: TenantDep) -> list[dict[str, Any]]:
    """Every change of one memory, oldest first (kept after it is deleted)."""
    events = memory.history(memory_id)
    if not tenant.unrestricted and not all(tenant.owns(e) for e in events):
        raise MemoryNotFoundError(f"no memory with id {memory_id!r} in this scope")
    return events


@router.get("/v1/entities/", tags=["entities"])
def entities(memory: MemoryDep, tenant: TenantDep) -> dict[str, Any]:
    """Users, agents, apps and runs that own memories the caller may see."""
    return list_entities(memory, tenant)


@router.delete("/v2/entities/{entity_type}/{entity_id}/", tags=["entities"])
@router.delete(
    "/v1/entities/{entity_type}/{entity_id}/", tags=["entities"], include_in_schema=False
)
def delete_entity_route(
    entity_type: str, entity_id: str, memory: MemoryDep, tenant: TenantDep
) -> dict[str, Any]:
    """Delete every memory of one user, agent, app or run."""
    return delete_entity(memory, tenant, entity_type, entity_id)


def _check_batch(memory: Memory, tenant: TenantDep, items: list[dict[str, Any]]) -> dict[str, str]:
    """Ownership of every id first (ids never change owner), then one commit in the core."""
    if not tenant.unrestricted:
        for item in items:
            mid = item.get("memory_id")
            if isinstance(mid, str) and mid:
                owned(memory, tenant, mid, show_expired=True)
    return {"app_id": tenant.app_id} if tenant.app_id is not None else {}


@router.put("/v1/batch/", tags=["batch"])
def batch_update(body: BatchBody, memory: MemoryDep, tenant: TenantDep) -> dict[str, Any]:
    """Up to 1,000 updates in one commit; one bad or foreign id fails the whole batch."""
    return memory.batch_update(body.memories, **_check_batch(memory, tenant, body.memories))


@router.delete("/v1/batch/", tags=["batch"])
def batch_delete(body: BatchBody, memory: MemoryDep, tenant: TenantDep) -> dict[str, Any]:
    """Up to 1,000 deletes in one commit; one bad or foreign id fails the whole batch."""
    return memory.batch_delete(body.memories, **_check_batch(memory, tenant, body.memories))


@router.post("/v1/feedback/", tags=["memories"])
def feedback(body: FeedbackBody, memory: MemoryDep, tenant: TenantDep) -> dict[str, Any]:
    """Mem0's feedback on one memory, kept by the core (``Memory.feedback``)."""
    owned(memory, tenant, body.memory_id, show_expired=True)
    return memory.feedback(
        body.memory_id, feedback=body.feedback, feedback_reason=body.feedback_reason
    )
