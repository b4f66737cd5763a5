"""The one NinjaAPI of GPUBROKER v2. Each app contributes a router mounted here."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.docs import Swagger
from ninja.openapi.schema import OpenAPISchema

from apps.auth_app.auth import JWTAuth
from gpubroker.api.v2.openapi import openapi_links, openapi_shared_errors
from gpubroker.core.exception_handlers import install_exception_handlers


class GpuBrokerAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document also lists the errors of the shared stack (openapi.py)."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        """Ninja's document, plus the shared error responses and optional-auth markers."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        openapi_shared_errors(schema)
        openapi_links(schema)
        return schema


api = GpuBrokerAPI(
    title="GPUBROKER API",
    version="2.0.0",
    description="GPU offer broker: marketplace, KPIs, maths and price stream.",
    urls_namespace="api-v2",
    docs=Swagger(settings={"persistAuthorization": True}),
    docs_url="/docs",
    openapi_url="/openapi.json",
    # Every route needs an access token unless it declares `auth=None` (public) or
    # `auth=OptionalJWTAuth()` (SPEC "opt") explicitly.
    auth=JWTAuth(),
)
install_exception_handlers(api)


def _mount_routers() -> None:
    from apps.ai_assistant.api import router as ai_router
    from apps.auth_app.api import router as auth_router
    from apps.kpi.api import router as kpi_router
    from apps.math_core.api import router as math_router
    from apps.providers.api import router as providers_router
    from apps.providers.api_integrations import booking_router, config_router
    from apps.websocket_gateway.api import router as ws_router
    from gpubroker.api.v2.system import router as system_router

    api.add_router("", system_router)
    api.add_router("/auth", auth_router)
    api.add_router("/providers", providers_router)
    api.add_router("/providers", booking_router)
    api.add_router("/config", config_router)
    api.add_router("/kpi", kpi_router)
    api.add_router("/math", math_router)
    api.add_router("/ai", ai_router)
    api.add_router("/ws", ws_router)


_mount_routers()
