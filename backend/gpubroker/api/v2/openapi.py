"""The OpenAPI document's account of what the shared stack does to every route.

Each handler's `response=` lists the errors its own code raises. Some errors come from the
layers every route goes through, whatever its handler does, and are declared here once:

- 400 `BAD_REQUEST`: a body that is not JSON ("body: not valid JSON (...)"), on routes with one;
- 401 `UNAUTHORIZED`: a present but invalid bearer token, on every route that reads tokens
  (optional ones included: a bad token is refused, not ignored);
- 413 `PAYLOAD_TOO_LARGE`: a body over MAX_REQUEST_BODY_BYTES, on routes with one;
- 422 `VALIDATION_ERROR`: parameters or a body that fail their schema, on routes with either;
- 429 `RATE_LIMITED`: the per-tenant and per-IP limits, on every route under /api/v2/;
- 503 `SERVICE_UNAVAILABLE`: PostgreSQL down (token checks and most reads need it).

Routes with optional authentication (`OptionalJWTAuth`, SPEC "opt") also get the empty
security requirement `{}` beside their scheme, which is how OpenAPI says "anonymous callers
are served too". schemathesis (tests/test_fuzz.py) checks the running API against this.

`openapi_links` adds the OpenAPI links between operations whose answers feed the next request
(register -> login -> me / refresh; the listing -> an offer -> its history), which clients
can follow and schemathesis's stateful phase chains.
"""

from __future__ import annotations

from typing import Any

_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    413: "Content Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    503: "Service Unavailable",
}
OPTIONAL_SCHEME = "OptionalJWTAuth"


def _shared_errors(operation: dict[str, Any]) -> list[int]:
    has_body = "requestBody" in operation
    has_input = has_body or bool(operation.get("parameters"))
    statuses = [429, 503]
    if has_body:
        statuses += [400, 413]
    if has_input:
        statuses.append(422)
    if operation.get("security"):
        statuses.append(401)
    return sorted(statuses)


def openapi_shared_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the shared stack's error responses and optional-auth markers to every operation.

    Mutates and returns `schema` (an OpenAPI 3.1 document as Ninja builds it). A status an
    operation already declares is left as the handler wrote it.
    """
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            security = operation.get("security") or []
            if any(OPTIONAL_SCHEME in requirement for requirement in security):
                operation["security"] = [*security, {}]
            responses = operation["responses"]
            declared = {str(status) for status in responses}
            for status in _shared_errors(operation):
                if str(status) not in declared:
                    responses[status] = {
                        "description": _DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": _ERROR_REF}},
                    }
    return schema


_OFFER_ID_FROM_LISTING = {"path.offer_id": "$response.body#/items/0/id"}
# (source operationId, its status, link name, target operationId, the link's own fields)
_LINKS: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    (
        "apps_auth_app_api_register",
        "201",
        "LogIn",
        "apps_auth_app_api_login",
        {"requestBody": {"email": "$request.body#/email", "password": "$request.body#/password"}},
    ),
    (
        "apps_auth_app_api_login",
        "200",
        "Me",
        "apps_auth_app_api_me",
        {"parameters": {"header.Authorization": "Bearer {$response.body#/access_token}"}},
    ),
    (
        "apps_auth_app_api_login",
        "200",
        "Refresh",
        "apps_auth_app_api_refresh",
        {"requestBody": {"refresh_token": "$response.body#/refresh_token"}},
    ),
    (
        "apps_providers_api_list_offers",
        "200",
        "FirstOffer",
        "apps_providers_api_get_offer",
        {"parameters": _OFFER_ID_FROM_LISTING},
    ),
    (
        "apps_providers_api_list_offers",
        "200",
        "FirstOfferHistory",
        "apps_providers_api_get_offer_history",
        {"parameters": _OFFER_ID_FROM_LISTING},
    ),
    (
        "apps_providers_api_get_offer",
        "200",
        "History",
        "apps_providers_api_get_offer_history",
        {"parameters": {"path.offer_id": "$response.body#/id"}},
    ),
)


def openapi_links(schema: dict[str, Any]) -> dict[str, Any]:
    """Add `_LINKS` to the responses they start from (mutates and returns `schema`).

    A link whose source or target operation is absent from `schema` is left out, so a
    document built for part of the API stays valid.
    """
    operations = {
        operation.get("operationId"): operation
        for path_item in schema.get("paths", {}).values()
        for operation in path_item.values()
        if isinstance(operation, dict)
    }
    for source, status, name, target, fields in _LINKS:
        responses = (operations.get(source) or {}).get("responses", {})
        # Ninja keys the statuses by int; a document read back from JSON by str.
        response = responses.get(int(status), responses.get(status))
        if response is None or target not in operations:
            continue
        response.setdefault("links", {})[name] = {"operationId": target, **fields}
    return schema
