"""The OpenAPI document's account of what the shared stack does to every route.

Each handler's `response=` lists the errors its own code raises. Some errors come from the
layers every route goes through, whatever its handler does, and are declared here once:

- 400 `BAD_REQUEST`: a body that is not JSON ("Cannot parse request body"), on routes with one;
- 401 `UNAUTHORIZED`: a present but invalid bearer token, on every route that reads tokens
  (optional ones included: a bad token is refused, not ignored);
- 413 `PAYLOAD_TOO_LARGE`: a body over MAX_REQUEST_BODY_BYTES, on routes with one;
- 422 `VALIDATION_ERROR`: parameters or a body that fail their schema, on routes with either;
- 429 `RATE_LIMITED`: the per-tenant and per-IP limits, on every route under /api/v2/;
- 503 `SERVICE_UNAVAILABLE`: PostgreSQL down (token checks and most reads need it).

Routes with optional authentication (`OptionalJWTAuth`, SPEC "opt") also get the empty
security requirement `{}` beside their scheme, which is how OpenAPI says "anonymous callers
are served too". schemathesis (tests/test_fuzz.py) checks the running API against this.
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
