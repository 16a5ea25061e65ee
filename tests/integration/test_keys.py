"""Personal-data keys fetched for a batch (GDPR-4's keys, adapters/keys.py): a batch of due
work opens and seals its accounts' fields with the keys one query found, and loads the
accounts it lacks from one query; shredding still wins inside a batch."""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import closing
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from adapters.clock import SimulatedClock
from adapters.keys import KeyStore
from app import Ledger
from domain.commands import AddPaymentMethod, AddSeats
from domain.personal import Scope
from settings import Settings
from tests.helpers import open_account

ACCOUNTS = 6


def spy(monkeypatch: pytest.MonkeyPatch, keys: KeyStore) -> Counter[str]:
    """Counts the key store's round trips by kind, and fails on a second `_current` for the
    same (holder, scope): a key made or found once is held for the rest of the batch."""
    calls: Counter[str] = Counter()
    made: set[tuple[UUID, Scope]] = set()
    for name in ("_keys_of", "_secret", "_current"):
        original = getattr(keys, name)

        def counted(*args: Any, _name: str = name, _original: Any = original) -> Any:
            calls[_name] += 1
            if _name == "_current":
                assert (args[0], args[1]) not in made, "a held key was asked for again"
                made.add((args[0], args[1]))
            return _original(*args)

        monkeypatch.setattr(keys, name, counted)
    return calls


def test_a_batch_of_renewals_opens_and_seals_with_keys_from_one_query(
    store: str, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with closing(Ledger(Settings(store=store), clock=clock)) as writer:
        ids = [open_account(writer, company=f"Co {n}", seats=2) for n in range(ACCOUNTS)]
        for account_id in ids:
            writer.execute(
                account_id, AddPaymentMethod(kind="card", token=f"tok_{account_id.hex[:6]}")
            )
        first = [len(writer.invoices(a)) for a in ids]
    clock.set(clock.now() + timedelta(days=31))
    # A process that did not write the accounts: it loads and unseals every one of them.
    with closing(Ledger(Settings(store=store), clock=clock)) as scheduler:
        calls = spy(monkeypatch, scheduler.store.keys)
        assert scheduler.run_due() >= ACCOUNTS
        assert [len(scheduler.invoices(a)) for a in ids] == [n + 1 for n in first]
    assert calls["_secret"] == 0, "a field was opened with a key looked up on its own"
    assert 1 <= calls["_keys_of"] <= 2  # the renewals' batch, then its charges' batch


def test_a_key_shredded_inside_a_batch_is_gone_inside_it_too(
    store: str, clock: SimulatedClock
) -> None:
    with closing(Ledger(Settings(store=store), clock=clock)) as ledger:
        keys, holder, at = ledger.store.keys, UUID(int=7), ledger.now()
        key_id, secret = keys.current(holder, Scope.PROFILE, at)
        with keys.prefetched([holder]):
            assert keys.secret(key_id) == secret
            assert keys.shred(holder, Scope.PROFILE, at) == 1
            assert keys.secret(key_id) is None
            assert keys.current(holder, Scope.PROFILE, at)[0] != key_id
        assert keys.secret(key_id) is None


def test_keys_held_for_a_batch_are_its_threads_own(
    store: str, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with closing(Ledger(Settings(store=store), clock=clock)) as ledger:
        keys, holder = ledger.store.keys, UUID(int=8)
        key_id, _ = keys.current(holder, Scope.PROFILE, ledger.now())
        calls = spy(monkeypatch, keys)
        with keys.prefetched([holder]):
            keys.secret(key_id)
            other = threading.Thread(target=keys.secret, args=(key_id,))
            other.start()
            other.join()
        assert calls == Counter({"_keys_of": 1, "_secret": 1})  # the other thread's


def test_accounts_loaded_for_a_batch_are_those_loaded_one_by_one(
    store: str, clock: SimulatedClock
) -> None:
    with closing(Ledger(Settings(store=store), clock=clock)) as writer:
        ids = [open_account(writer, company=f"Co {n}") for n in range(3)]
        writer.execute(ids[1], AddSeats(count=2))
    with closing(Ledger(Settings(store=store), clock=clock)) as cold:
        batch = cold.store.commanded([*ids, UUID(int=9)], fresh=False)
        assert sorted(batch) == sorted(ids)  # the unknown one left out
        for account_id in ids:
            alone = cold.store.aggregate(account_id)
            assert batch[account_id].model_dump() == alone.model_dump()
            assert batch[account_id] is not cold.store.cached_at(account_id, alone.version)
