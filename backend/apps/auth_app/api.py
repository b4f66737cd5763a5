"""Auth endpoints (mounted at /api/v2/auth): register, login, refresh, logout, me."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest
from ninja import Router, Status

from apps.auth_app import services
from apps.auth_app.auth import JWTAuth
from apps.auth_app.models import User
from apps.auth_app.schemas import LoginIn, MeOut, RefreshIn, RegisterIn, TokenPairOut, UserOut
from gpubroker.core.ratelimit import client_ip
from gpubroker.core.schemas import ErrorOut

router = Router(tags=["auth"])

_ERRORS = {401: ErrorOut, 422: ErrorOut, 429: ErrorOut}


def _client(request: HttpRequest) -> services.ClientInfo:
    ip = client_ip(request)
    return services.ClientInfo(
        ip_address=ip if ip != "unknown" else None,
        user_agent=request.headers.get("User-Agent", ""),
    )


@router.post(
    "/register", response={201: UserOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}, auth=None
)
async def register(request: HttpRequest, payload: RegisterIn) -> Status[User]:
    """Create a user (201); 409 for a taken email, 422 for a weak password or bad email."""
    user = await services.user_register(
        email=payload.email,
        password=payload.password,
        full_name=payload.full_name,
        organization=payload.organization,
        client=_client(request),
    )
    return Status(201, user)


@router.post("/login", response={200: TokenPairOut, **_ERRORS}, auth=None)
async def login(request: HttpRequest, payload: LoginIn) -> services.TokenPair:
    """Exchange email and password for a token pair; 401 with one message for any failure."""
    return await services.user_login(
        email=payload.email, password=payload.password, client=_client(request)
    )


@router.post("/refresh", response={200: TokenPairOut, **_ERRORS}, auth=None)
async def refresh(request: HttpRequest, payload: RefreshIn) -> services.TokenPair:
    """Rotate a refresh token into a new pair; a reused token revokes its family (401)."""
    return await sync_to_async(services.session_refresh)(
        refresh_token=payload.refresh_token, client=_client(request)
    )


@router.post("/logout", response={204: None, **_ERRORS}, auth=JWTAuth())
async def logout(request: HttpRequest, payload: RefreshIn) -> Status[None]:
    """Revoke the given refresh token's session (204)."""
    await sync_to_async(services.session_logout)(
        user=request.auth,  # type: ignore[attr-defined]
        refresh_token=payload.refresh_token,
        client=_client(request),
    )
    return Status(204, None)


@router.get("/me", response={200: MeOut, 401: ErrorOut}, auth=JWTAuth())
async def me(request: HttpRequest) -> User:
    """The caller's profile with role and tenant."""
    user: User = request.auth  # type: ignore[attr-defined]
    return user
