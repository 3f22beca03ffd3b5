"""What every part of the facade shares: the engine and the scope-argument handling."""

from __future__ import annotations

from typing import Any

from ..engine import Engine
from ..records import Scope
from .compat import ArgumentPolicy

__all__ = ["UNSET", "Facade"]

#: Sentinel for "argument not given", so that ``expiration_date=None`` can mean "clear it".
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()


class Facade:
    """Base of ``Memory``'s parts: holds the engine, validates scope arguments once."""

    _core: Engine
    _args: ArgumentPolicy

    @property
    def _engine(self) -> Engine:
        """The engine, once this handle's queued adds are committed (``storage.add_log``).

        Every method but a queued add reaches the engine through here, so it sees every add
        this handle acknowledged, and a delete or update can never be overtaken by one.
        """
        self._core.settle_adds()
        return self._core

    def _scope(
        self,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> Scope:
        """Mem0's four scope arguments, validated into a :class:`Scope` (possibly empty)."""
        return self._core.check.scope(
            user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id
        )
