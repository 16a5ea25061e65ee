"""What auditors ask (audit:read): verify the chain, replay the projections, explain a
document, check its renderings."""

import json
from typing import Any

from fastapi import APIRouter

from api.params import DocumentNumber, KnownAt
from api.security import Auditor, TheLedger

router = APIRouter(tags=["audit"])


@router.get("/audit/verify")
def audit_verify(actor: Auditor, ledger: TheLedger) -> dict[str, Any]:
    """Recomputes every hash chain and checkpoint; `ok` false names the first event
    that does not match."""
    return ledger.verify().summary()


@router.get("/audit/replay")
def audit_replay(actor: Auditor, ledger: TheLedger, until: KnownAt = None) -> Any:
    """Rebuilds the projections into a scratch store and compares them with the live
    ones, by table and key."""
    return json.loads(ledger.replay(until).document())


@router.get("/audit/documents/{number}")
def audit_explain(number: DocumentNumber, actor: Auditor, ledger: TheLedger) -> dict[str, Any]:
    """The trail of rules and events behind an invoice or credit note."""
    return ledger.explain(number)


@router.get("/audit/documents/{number}/check")
def audit_check_document(
    number: DocumentNumber, actor: Auditor, ledger: TheLedger
) -> dict[str, Any]:
    """Renders an issued document again and compares each rendering's SHA-256 with the
    one recorded at its issue."""
    return ledger.check_document(number)
