"""Mem0's entity routes: who owns memories, and deleting everything one of them owns.

An admin (or a keyless local server) sees the store's own entity list. A restricted key sees
the entities found in the memories it may read, so another tenant's users never show up.
"""

from __future__ import annotations

from typing import Any

from mem_integrations import Memory, ValidationError

from ..core.records import ScopeArgs, scope_args
from .auth import Forbidden, Tenant

__all__ = ["ENTITY_TYPES", "delete_entity", "list_entities"]

ENTITY_TYPES = ("user", "agent", "app", "run")


def _envelope(results: list[dict[str, Any]], owner: str) -> dict[str, Any]:
    for row in results:
        row.setdefault("owner", owner)
        row.setdefault("metadata", None)
    totals = {f"total_{t}s": sum(1 for r in results if r["type"] == t) for t in ENTITY_TYPES}
    return {"count": len(results), "next": None, "previous": None, "results": results, **totals}


def _entities_of(memory: Memory, scopes: list[ScopeArgs]) -> list[dict[str, Any]]:
    """Aggregate the entities of every memory in ``scopes``, reading them page by page."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    ids: set[str] = set()
    size = memory.limits.max_page_size
    for scope in scopes:
        page: int | None = 1
        while page is not None:
            pg = memory.get_all_page(**scope, page=page, page_size=size)
            for rec in pg.results:
                if rec.id in ids:
                    continue
                ids.add(rec.id)
                for kind in ENTITY_TYPES:
                    name = getattr(rec, f"{kind}_id")
                    if name is None:
                        continue
                    created, updated = rec.created_at.isoformat(), rec.updated_at.isoformat()
                    row = seen.setdefault((kind, name), {
                        "id": name, "name": name, "type": kind, "total_memories": 0,
                        "created_at": created, "updated_at": updated,
                    })  # fmt: skip
                    row["total_memories"] += 1
                    row["created_at"] = min(row["created_at"], created)
                    row["updated_at"] = max(row["updated_at"], updated)
            page = pg.next
    return sorted(seen.values(), key=lambda e: (e["type"], e["name"]))


def list_entities(memory: Memory, tenant: Tenant) -> dict[str, Any]:
    """``GET /v1/entities/``."""
    if tenant.unrestricted:
        return _envelope(memory.users()["results"], tenant.label)
    return _envelope(_entities_of(memory, tenant.listing_scopes()), tenant.label)


def delete_entity(memory: Memory, tenant: Tenant, kind: str, name: str) -> dict[str, Any]:
    """``DELETE /v2/entities/{type}/{id}/``: every memory of that entity the caller may touch."""
    if kind not in ENTITY_TYPES:
        raise ValidationError(f"Invalid entity type {kind!r}: use one of {list(ENTITY_TYPES)}")
    field = f"{kind}_id"
    if tenant.unrestricted:
        deleted = memory.delete_users(**scope_args({field: name}))["deleted"]
    elif tenant.user_ids is not None and kind != "user":
        # An agent or run may span several of the key's users: delete it under each of them.
        scopes = tenant.listing_scopes()
        if any(scope.get(field, name) != name for scope in scopes):
            raise Forbidden(f"this API key may not use {field} {name!r}")
        deleted = sum(
            memory.delete_all(**scope_args({**scope, field: name}))["deleted"] for scope in scopes
        )
    else:
        deleted = memory.delete_all(**tenant.bind({field: name}))["deleted"]
    return {"message": "Entity deleted successfully.", "deleted": deleted}
