"""What one server process needs to open its store, as one JSON-serialisable model.

``uvicorn --workers N`` starts each worker from an import string, so the settings travel to the
workers through one environment variable (:data:`SETTINGS_ENV`) rather than through arguments.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mem_integrations import ConfigurationError, Memory, MemoryConfig

from .auth import TenantSpec

__all__ = ["SETTINGS_ENV", "ServerSettings", "is_loopback", "load_object"]

#: Environment variable carrying :class:`ServerSettings` as JSON to uvicorn's worker processes.
SETTINGS_ENV = "MEM_INTEGRATIONS_SERVER_SETTINGS"

#: Mem0 refuses bodies over a few MB; 2 MiB holds a 1,000-item batch of long memories.
DEFAULT_MAX_BODY = 2 * 1024 * 1024


def load_object(path: str) -> Any:
    """``"package.module:attribute"`` -> the attribute, called when it is a class or factory.

    This is how a server is given another embedder without code: the same syntax uvicorn uses
    for apps, so an embedder of the user's own is one importable name away.
    """
    module, sep, attr = path.partition(":")
    if not sep or not module or not attr:
        raise ConfigurationError(f"expected 'module:attribute', got {path!r}")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"cannot import {path!r}: {exc}") from None
    return obj() if callable(obj) else obj


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServerSettings(BaseModel):
    """The store, the keys and the limits of a server (``mem-integrations serve`` options)."""

    model_config = ConfigDict(frozen=True)

    uri: str | None = None
    storage_options: dict[str, str] | None = None
    #: ``module:attribute`` of an embedder (class, factory or instance); None = bundled MiniLM.
    embedder: str | None = None
    decay: bool = False
    #: API key -> what it may touch. Empty: no authentication, loopback only.
    keys: dict[str, TenantSpec] = Field(default_factory=dict)
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY, ge=1024)

    def open_memory(self) -> Memory:
        """The one ``Memory`` a server process shares across its request threads."""
        # Workers and servers sharing a store answer each other's history reads at once.
        fields: dict[str, Any] = {"decay": self.decay, "history_behind_writes": False}
        if self.uri is not None:
            fields["uri"] = self.uri
        if self.storage_options is not None:
            fields["storage_options"] = self.storage_options
        if self.embedder is not None:
            fields["embedder"] = load_object(self.embedder)
        return Memory(MemoryConfig(**fields))

    def to_env(self) -> dict[str, str]:
        """The environment entry that hands these settings to worker processes."""
        return {SETTINGS_ENV: self.model_dump_json()}

    @classmethod
    def from_env(cls) -> ServerSettings:
        """Settings of the parent ``serve`` command, or the defaults when started bare."""
        raw = os.environ.get(SETTINGS_ENV)
        if not raw:
            return cls()
        return cls.model_validate(json.loads(raw))
