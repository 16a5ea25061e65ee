"""Bearer tokens and their scopes: who may call a route, and whose name its events carry.

The tokens and the ledger live on the application's state (`create_app` puts them there),
so the routers are plain modules and every route names what it needs as a parameter."""

import hashlib
import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from app import Ledger
from settings import ApiToken, Permission

_bearer = HTTPBearer(auto_error=False, description="a token of SEATLEDGER_API_TOKENS")


class Tokens:
    """The API's tokens by name, compared by their SHA-256 digests in constant time."""

    def __init__(self, tokens: dict[str, ApiToken]) -> None:
        self._scopes = {name: frozenset(token.scopes) for name, token in tokens.items()}
        self._digests = {
            name: hashlib.sha256(token.secret.get_secret_value().encode()).digest()
            for name, token in tokens.items()
        }

    def authenticate(self, given: str) -> str:
        digest = hashlib.sha256(given.encode()).digest()
        found = None
        for name, expected in self._digests.items():  # every token compared
            if hmac.compare_digest(digest, expected):
                found = name
        if found is None:
            raise HTTPException(401, "the bearer token is not valid")
        return found

    def scopes(self, name: str) -> frozenset[Permission]:
        return self._scopes[name]


def allow(*scopes: Permission) -> Callable[..., str]:
    """A dependency answering the calling token's name when it holds one of `scopes` (or
    admin); 401 without a valid token, 403 without the scope."""

    def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> str:
        if credentials is None:
            raise HTTPException(401, "a bearer token is required")
        tokens: Tokens = request.app.state.tokens
        name = tokens.authenticate(credentials.credentials)
        granted = tokens.scopes(name)
        if Permission.ADMIN not in granted and not granted.intersection(scopes):
            raise HTTPException(403, f"needs one of: {', '.join(sorted(scopes))}")
        return name

    return check


def sees_addresses(request: Request, name: str) -> bool:
    """Owners' addresses are for those who command accounts, not for finance or audit."""
    tokens: Tokens = request.app.state.tokens
    return bool({Permission.WRITE, Permission.ADMIN} & tokens.scopes(name))


def _the_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


Writer = Annotated[str, Depends(allow(Permission.WRITE))]
Reader = Annotated[
    str, Depends(allow(Permission.WRITE, Permission.FINANCE_READ, Permission.AUDIT_READ))
]
Finance = Annotated[str, Depends(allow(Permission.FINANCE_READ, Permission.AUDIT_READ))]
Admin = Annotated[str, Depends(allow(Permission.ADMIN))]
Auditor = Annotated[str, Depends(allow(Permission.AUDIT_READ))]
TheLedger = Annotated[Ledger, Depends(_the_ledger)]
