"""The tamper-evident log: a hash chain per aggregate and Merkle checkpoints over the whole
log (auditors' proof that nothing recorded was altered).

Each stored event carries `prev_hash`, the digest of its aggregate's previous stored event
(`GENESIS` for the first). A digest is SHA-256 over the event's identity, topic and stored
bytes: personal fields are hashed as the ciphertext they are stored as, so erasing a
subject's key (GDPR-4) leaves every digest intact. Changing one byte of an event changes its
digest, which no longer matches the `prev_hash` its successor recorded, nor the leaf a
checkpoint recorded for it.

A `LogSeal` records checkpoints: at a notification position, the head (last version and its
digest) of every aggregate, and the Merkle root over those heads (RFC 6962 shape: leaves and
nodes hashed with distinct prefixes, so a leaf can never pass for a node). Each checkpoint
keeps only the heads that changed since the previous one; the root covers them all.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from domain.model import Aggregate, Event, stable_id

GENESIS = "0" * 64  # the predecessor of every aggregate's first event
PREV_HASH = "prev_hash"  # the field of the stored state that carries the predecessor's digest


def event_digest(originator_id: UUID, version: int, topic: str, state: bytes) -> str:
    """SHA-256 over one stored event exactly as stored (its state bytes include `prev_hash`)."""
    digest = hashlib.sha256(f"{originator_id}\n{version}\n{topic}\n".encode())
    digest.update(state)
    return digest.hexdigest()


class Head(BaseModel):
    """An aggregate's last event at a checkpoint."""

    model_config = ConfigDict(frozen=True)
    version: int
    digest: str


def _leaf(aggregate_id: str, head: Head) -> bytes:
    return hashlib.sha256(
        b"\x00" + f"{aggregate_id}:{head.version}:{head.digest}".encode()
    ).digest()


def merkle_root(heads: dict[str, Head]) -> str:
    """The root over every aggregate's head, leaves in aggregate-id order; an odd node is
    carried up unpaired. The root of no heads is the digest of nothing."""
    level = [_leaf(key, heads[key]) for key in sorted(heads)]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        paired = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


class LogSeal(Aggregate):
    """The checkpoints over the whole log, one aggregate for the ledger."""

    ID: ClassVar[UUID] = stable_id("log-seal")

    position: int = 0  # the notification position of the last checkpoint
    sealed_at: datetime | None = None
    heads: dict[str, Head] = {}

    class Started(Event):
        def apply(self, seal: LogSeal) -> None:
            seal.heads = {}

    class Checkpointed(Event):
        position: int
        root: str
        leaves: int
        changed: dict[str, Head]

        def apply(self, seal: LogSeal) -> None:
            seal.heads = {**seal.heads, **self.changed}
            seal.position = self.position
            seal.sealed_at = self.effective_at

    @classmethod
    def start(cls, at: datetime) -> LogSeal:
        return cls.create(cls.Started, cls.ID, at)

    def sealed_since(self, at: datetime, every: timedelta) -> bool:
        """Whether the last checkpoint is younger than `every`."""
        return self.sealed_at is not None and at - self.sealed_at < every

    def checkpoint(self, position: int, changed: dict[str, Head], at: datetime) -> str:
        """Seals the log up to `position`: `changed` are the heads moved since the last
        checkpoint. Returns the new root."""
        assert position > self.position, "a checkpoint moves forward"
        heads = {**self.heads, **changed}
        root = merkle_root(heads)
        self.trigger(
            self.Checkpointed, at, position=position, root=root, leaves=len(heads), changed=changed
        )
        return root
