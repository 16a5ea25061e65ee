"""Due work and its order (TIME-3)."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.schedule import Task, TaskKind
from tests.unit.support import numbering, open_account, t, terms

RULE_ORDER = [
    TaskKind.POOL_ACTIVATION,
    TaskKind.CANCELLATION,
    TaskKind.TRIAL_EXPIRY,
    TaskKind.RENEWAL,
    TaskKind.PAYMENT,
    TaskKind.INACTIVITY_WARNING,
    TaskKind.ERASURE,
]


def test_time_3_work_due_at_one_instant_runs_in_the_rules_order() -> None:
    at, holder = t("2025-03-01"), uuid4()
    tasks = [Task.of(kind, at, holder) for kind in reversed(TaskKind)]
    ranks = [task.kind.rank for task in sorted(tasks)]
    assert ranks == sorted(ranks)
    assert [kind.rank for kind in RULE_ORDER] == list(range(len(RULE_ORDER)))
    # kinds the rule names in one step share it
    assert TaskKind.POOL_EXHAUSTION.rank == TaskKind.POOL_ACTIVATION.rank
    assert TaskKind.LIFETIME_BILLING.rank == TaskKind.RENEWAL.rank
    assert TaskKind.INACTIVITY_DELETION.rank == TaskKind.INACTIVITY_WARNING.rank


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=3), st.sampled_from(list(TaskKind))),
        min_size=2,
        max_size=20,
    )
)
def test_time_3_work_runs_at_its_own_instant_first_then_by_rank(
    due: list[tuple[int, TaskKind]],
) -> None:
    holder = uuid4()
    tasks = sorted(Task.of(kind, t("2025-03-01") + timedelta(hours=h), holder) for h, kind in due)
    for earlier, later in pairwise(tasks):
        assert earlier.due_at <= later.due_at
        if earlier.due_at == later.due_at:
            assert earlier.kind.rank <= later.kind.rank


def test_time_3_a_task_done_is_not_done_again() -> None:
    policy, numbers = terms(), numbering()
    account = open_account(t("2025-01-01"), policy)
    task = account.next_task()
    assert task is not None and task.kind is TaskKind.TRIAL_EXPIRY
    assert account.run_task(task, policy, numbers)
    version = account.version
    assert not account.run_task(task, policy, numbers)
    assert account.version == version
