"""The internal HTTP API: thin routes over the `Ledger` (parse, call one method, render).

Bearer tokens with scopes (`write`, `finance:read`, `audit:read`, `admin`) name the actor of
every event they cause. A request body is a command of `domain.commands`, checked as a
whole: refusals are RFC 9457 problem documents carrying the error code of SCENARIOS.md and
every field at fault. Every command takes an `Idempotency-Key`, the token's own: a repeat
with the same body records nothing and answers as the first did (the same status, and the
resource as it now stands), the same key with another body is refused. The interactive
documentation at `/docs` needs no network.
"""

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from api import accounts, audit, documents, finance, operations, problems, subjects, vendor
from api.body_limit import BodyLimit
from api.security import Tokens
from app import Ledger
from domain.values import CATALOG_PLANS
from settings import ApiToken

# One router per resource, in the order the document lists them
ROUTERS: tuple[APIRouter, ...] = (
    accounts.router,
    documents.router,
    vendor.router,
    subjects.router,
    operations.router,
    finance.router,
    audit.router,
)


def _operation_id(route: APIRoute) -> str:
    """The route's own name: what a generated client calls (`add_seats`, `list_invoices`)."""
    return route.name


def create_app(ledger: Ledger, tokens: dict[str, ApiToken]) -> FastAPI:
    api = FastAPIOffline(
        title="seatledger internal API",
        version="1",
        description=__doc__,
        responses=problems.DOCUMENTED,
        generate_unique_id_function=_operation_id,
    )
    api.state.ledger = ledger
    api.state.tokens = Tokens(tokens)
    api.add_middleware(BodyLimit)
    problems.install(api)
    for router in ROUTERS:
        api.include_router(router)
    names = [route.name for route in api.routes if isinstance(route, APIRoute)]
    assert len(names) == len(set(names)), "every operation has a name of its own"
    _document(api, sorted(ledger.catalog.plans))
    return api


def _document(api: FastAPI, plans: list[str]) -> None:
    """The OpenAPI document, made once: the Problem schema among its components, and
    (BILL-1) the plans of the catalog this service sells (a plan is data) where the command
    models mark a plan name (domain.values.PlanName)."""
    made = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            document = made()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(problems.schemas())
            _list_plans(document, plans)
            api.openapi_schema = document
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def _list_plans(node: Any, plans: list[str]) -> None:
    """Every schema marked as a plan name, in a body or a query, lists the plans."""
    if isinstance(node, dict):
        if node.pop(CATALOG_PLANS, False):
            node["enum"] = plans
        for value in node.values():
            _list_plans(value, plans)
    elif isinstance(node, list):
        for value in node:
            _list_plans(value, plans)
