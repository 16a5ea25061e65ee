"""The ledgers, stores, clock and gateway this tier's tests take as fixtures (tests/ledgers.py);
the unit tier has none of them, so it loads no store and no Ledger."""

from tests.ledgers import *  # noqa: F403
