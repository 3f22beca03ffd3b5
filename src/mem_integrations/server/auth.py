"""API keys and what each may touch.

A key maps to a :class:`TenantSpec`: an ``app_id``, a set of ``user_ids``, both, or ``admin``.
Every call a key makes is *bound* to that spec before it reaches ``Memory``: the tenant's ids
are passed as scope arguments, which the core ANDs with whatever filters the caller sent, so
no filter (OR, NOT, another app's id) can widen what a key reads or changes. Calls by memory
id first check that the memory belongs to the tenant, and answer "not found" when it does not,
so one tenant cannot even learn that another's ids exist.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from mem_integrations import ConfigurationError
from mem_integrations.core.records import ScopeArgs, scope_args

__all__ = [
    "AuthError",
    "Authenticator",
    "Forbidden",
    "Tenant",
    "TenantSpec",
    "parse_keys",
    "token_from_header",
]

SCOPE_KEYS = ("user_id", "agent_id", "run_id", "app_id")


class AuthError(Exception):
    """Missing or unknown API key (HTTP 401)."""


class Forbidden(Exception):
    """The key is valid but may not act on the scope the call names (HTTP 403)."""


class TenantSpec(BaseModel):
    """What one key may touch: an app, some users, both, or (``admin``) everything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    app_id: str | None = None
    user_ids: tuple[str, ...] | None = None
    admin: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> TenantSpec:
        restricted = self.app_id is not None or self.user_ids is not None
        if self.admin == restricted:
            raise ValueError("a key needs either admin: true, or an app_id and/or user_ids")
        if self.user_ids is not None and (not self.user_ids or not all(self.user_ids)):
            raise ValueError("user_ids must list at least one non-empty id")
        return self


@dataclass(frozen=True)
class Tenant:
    """The caller behind one request, and the scope arguments its calls are bound to."""

    label: str
    app_id: str | None = None
    user_ids: frozenset[str] | None = None

    @property
    def unrestricted(self) -> bool:
        """Admin keys, and every caller of a server that has no keys (loopback only)."""
        return self.app_id is None and self.user_ids is None

    def bind(
        self, requested: Mapping[str, Any], filters: Mapping[str, Any] | None = None
    ) -> ScopeArgs:
        """The scope arguments a list/search/add/delete_all call runs with.

        The caller's own ids are kept; the tenant's are added. A caller id that contradicts
        the tenant is refused rather than silently replaced: the caller meant something else.
        """
        out = {k: str(v) for k, v in requested.items() if k in SCOPE_KEYS and v is not None}
        if self.app_id is not None:
            if out.get("app_id", self.app_id) != self.app_id:
                raise Forbidden(f"this API key may only use app_id {self.app_id!r}")
            out["app_id"] = self.app_id
        if self.user_ids is not None:
            user = out.get("user_id") or named_user(filters)
            if user is None:
                raise Forbidden(
                    "this API key acts for specific users: name one as user_id "
                    "(in filters, or as an argument)"
                )
            if user not in self.user_ids:
                raise Forbidden(f"this API key may not act for user_id {user!r}")
            out["user_id"] = user
        return scope_args(out)

    def owns(self, record: Mapping[str, Any]) -> bool:
        """Whether a stored memory lies inside this tenant's bounds."""
        if self.app_id is not None and record.get("app_id") != self.app_id:
            return False
        return self.user_ids is None or record.get("user_id") in self.user_ids

    def confine(self, record: Mapping[str, Any]) -> ScopeArgs:
        """Scope arguments that make the core re-check ownership of a record on write."""
        out: dict[str, str] = {}
        if self.app_id is not None:
            out["app_id"] = self.app_id
        if self.user_ids is not None and record.get("user_id"):
            out["user_id"] = str(record["user_id"])
        return scope_args(out)

    def listing_scopes(self) -> list[ScopeArgs]:
        """The scopes whose memories make up this tenant's entity list (restricted keys)."""
        if self.user_ids is None:
            return [scope_args({"app_id": self.app_id})]
        return [scope_args({"app_id": self.app_id, "user_id": u}) for u in sorted(self.user_ids)]


def named_user(filters: Mapping[str, Any] | None) -> str | None:
    """The one user id a filter pins with ``eq`` at its top level or under a top-level AND."""
    if not isinstance(filters, Mapping):
        return None
    value = filters.get("user_id")
    if isinstance(value, Mapping) and set(value) == {"eq"}:
        value = value["eq"]
    if isinstance(value, str):
        return value
    for part in filters.get("AND") or ():
        found = named_user(part)
        if found is not None:
            return found
    return None


def token_from_header(header: str | None) -> str | None:
    """``Token KEY`` (Mem0's clients) or ``Bearer KEY`` (MCP and most others)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in ("token", "bearer") or not value.strip():
        return None
    return value.strip()


class Authenticator:
    """API key -> :class:`Tenant`. With no keys configured every caller is unrestricted."""

    def __init__(self, keys: Mapping[str, TenantSpec]) -> None:
        self._keys = dict(keys)

    @property
    def open(self) -> bool:
        """No keys: the server must only listen on loopback (``serve`` enforces it)."""
        return not self._keys

    def tenant(self, authorization: str | None) -> Tenant:
        """Resolve a request's ``Authorization`` header, comparing keys in constant time."""
        if self.open:
            return Tenant(label="local")
        token = token_from_header(authorization)
        if token is None:
            raise AuthError("Missing API key: send 'Authorization: Token <key>'.")
        found: TenantSpec | None = None
        for key, spec in self._keys.items():
            if hmac.compare_digest(key.encode(), token.encode()):
                found = spec
        if found is None:
            raise AuthError("Invalid API key.")
        label = hashlib.sha256(token.encode()).hexdigest()[:8]
        users = frozenset(found.user_ids) if found.user_ids is not None else None
        return Tenant(label=label, app_id=found.app_id, user_ids=users)


def parse_keys(source: str | Path | Mapping[str, Any]) -> dict[str, TenantSpec]:
    """Keys from a JSON file, a JSON string, or a mapping: ``{key: {app_id|user_ids|admin}}``."""
    if isinstance(source, Mapping):
        raw: Any = source
    else:
        text = str(source)
        path = Path(text)
        if not text.lstrip().startswith("{") and path.is_file():
            text = path.read_text(encoding="utf-8")
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"API keys are not valid JSON: {exc.msg}") from None
    if not isinstance(raw, Mapping):
        raise ConfigurationError("API keys must be a JSON object {key: {app_id|user_ids|admin}}")
    out: dict[str, TenantSpec] = {}
    for key, spec in raw.items():
        if not isinstance(key, str) or len(key) < 8:
            raise ConfigurationError("every API key must be a string of at least 8 characters")
        try:
            out[key] = TenantSpec.model_validate(spec)
        except ValueError as exc:
            raise ConfigurationError(f"API key {key[:4]}…: {exc}") from None
    return out
