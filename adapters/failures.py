"""What an exception raised in due work says to an operator: its type and where in the
ledger's code it was raised, never its message (a message may quote the data it choked on,
and personal data never reaches unsealed storage or the events)."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ours(path: Path) -> bool:
    """A frame of the ledger's own code (not of a library installed beside it)."""
    resolved = path.resolve()
    return resolved.is_relative_to(ROOT) and "site-packages" not in resolved.parts


@dataclass(frozen=True, slots=True)
class Failure:
    """What one task raised: the exception's type and where in the ledger's code."""

    error: str
    where: str

    @classmethod
    def of(cls, error: BaseException) -> Failure:
        frames = traceback.extract_tb(error.__traceback__)
        ours = [f for f in frames if _ours(Path(f.filename))]
        last = (ours or frames)[-1] if frames else None
        where = ""
        if last is not None:
            path = Path(last.filename).resolve()
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
            where = f"{shown}:{last.lineno} in {last.name}"
        return cls(error=type(error).__name__, where=where)
