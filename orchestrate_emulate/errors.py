"""The one error the emulator package raises for a user to read.

It carries the same ``where`` and ``hint`` as the product's errors; ``orchestrate emulate``
(orchestrator/commands/emulate.py) translates it into the product's ``CloudError`` at the boundary.
"""

from __future__ import annotations


class EmulateError(Exception):
    """The emulated clouds cannot be started, found or used."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        head = f"{self.where}: {self.message}" if self.where else self.message
        return f"{head}\n  {self.hint}" if self.hint else head
