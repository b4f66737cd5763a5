"""Account and session services: register, login, refresh (rotation), logout.

Password hashing never runs on the event loop or on Django's single thread for sync code: it
goes through `apps.auth_app.hashers` (bounded executor). Database work runs in
`sync_to_async` blocks that own their transactions, and every outcome is appended to the audit
chain in the same transaction as the change it records.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.auth_app.audit import AuditAction, audit_append
from apps.auth_app.hashers import apassword_make, apassword_verify
from apps.auth_app.metrics import LOGIN_FAILURES
from apps.auth_app.models import Plan, Tenant, User, UserSession
from apps.auth_app.tokens import (
    REFRESH,
    decode_token,
    issue_access_token,
    issue_refresh_token,
    token_digest,
)
from gpubroker.core.errors import (
    Conflict,
    RateLimited,
    Unauthorized,
    ValidationFailed,
    validation_message,
)
from gpubroker.core.ratelimit import Rule, limiter

INVALID_CREDENTIALS = "Invalid email or password"
ACCOUNT_DISABLED = "Account is disabled"
REFRESH_REUSED = "Refresh token was already used; the session has been revoked"
SESSION_INVALID = "Invalid or expired refresh token"
_USER_AGENT_MAX = 512


@dataclass(frozen=True)
class TokenPair:
    """An issued access/refresh pair; `expires_in` in seconds (access token)."""

    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, recorded on sessions and audit rows."""

    ip_address: str | None
    user_agent: str = ""


# --- register ----------------------------------------------------------------------------------
def _password_problems(password: str, *, email: str, full_name: str) -> list[str]:
    try:
        password_validation.validate_password(password, User(email=email, full_name=full_name))
    except DjangoValidationError as exc:
        return [str(message) for message in exc.messages]
    return []


def _register_commit(
    *, email: str, encoded_password: str, full_name: str, organization: str | None, ip: str | None
) -> User:
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=email, plan=Plan.FREE)
            user = User(
                email=email,
                password=encoded_password,
                full_name=full_name,
                organization=organization,
                tenant=tenant,
            )
            user.save(force_insert=True)
            audit_append(
                action=AuditAction.REGISTER,
                user_id=user.pk,
                tenant_id=tenant.pk,
                resource_type="user",
                resource_id=str(user.pk),
                ip_address=ip,
            )
    except IntegrityError as exc:  # a concurrent registration of the same email won
        raise Conflict("Email already registered", details={"field": "email"}) from exc
    return user


async def user_register(
    *, email: str, password: str, full_name: str, organization: str | None, client: ClientInfo
) -> User:
    """Create a user in a personal free-plan tenant. 422 weak password, 409 duplicate email.

    `email` must already be syntactically valid and lower-cased (the schema does both).
    """
    problems = _password_problems(password, email=email, full_name=full_name)
    if problems:
        reason = " ".join(problems)
        raise ValidationFailed(
            validation_message({"password": reason}),
            details={
                "fields": {"password": reason},
                "errors": [
                    {"field": "password", "message": message, "type": "password_policy"}
                    for message in problems
                ],
            },
        )
    if await User.objects.filter(email__iexact=email).aexists():
        raise Conflict("Email already registered", details={"field": "email"})
    encoded = await apassword_make(password)
    return await sync_to_async(_register_commit)(
        email=email,
        encoded_password=encoded,
        full_name=full_name,
        organization=organization,
        ip=client.ip_address,
    )


# --- login -------------------------------------------------------------------------------------
async def login_throttle(*, email: str, ip: str | None) -> None:
    """Count a login attempt per email and per IP; raise `RateLimited` past the minute's budget."""
    limit = int(settings.RATE_LIMIT_LOGIN_PER_MINUTE)
    email_key = hashlib.sha256(email.encode()).hexdigest()[:32]
    decision = await limiter.ahit(
        [
            Rule(f"login:email:{email_key}", limit, 60, scope="login"),
            Rule(f"login:ip:{ip}", limit, 60, scope="login"),
        ]
    )
    if not decision.allowed:
        raise RateLimited(
            "Too many login attempts; try again later",
            retry_after=decision.retry_after,
            headers=decision.headers(),
        )


def _roles(user: User) -> list[str]:
    return [user.role]


def _open_session(
    *, user: User, family_id: uuid.UUID, client: ClientInfo
) -> tuple[TokenPair, UserSession]:
    access = issue_access_token(
        email=user.email, user_id=user.pk, roles=_roles(user), tenant_id=user.tenant_id
    )
    refresh = issue_refresh_token(email=user.email, user_id=user.pk)
    session = UserSession.objects.create(
        jti=token_digest(refresh.jti),
        user=user,
        refresh_token_hash=token_digest(refresh.token),
        expires_at=refresh.expires_at,
        user_agent=client.user_agent[:_USER_AGENT_MAX] or None,
        ip_address=client.ip_address,
        family_id=family_id,
    )
    pair = TokenPair(
        access_token=access.token, refresh_token=refresh.token, expires_in=access.expires_in
    )
    return pair, session


def _login_failed(*, email: str, user: User | None, reason: str, client: ClientInfo) -> None:
    LOGIN_FAILURES.labels(reason=reason).inc()
    audit_append(
        action=AuditAction.LOGIN_FAILED,
        user_id=user.pk if user else None,
        tenant_id=user.tenant_id if user else None,
        resource_type="user",
        resource_id=str(user.pk) if user else "",
        details={"email": email[:255], "reason": reason},
        ip_address=client.ip_address,
    )


def _login_commit(*, user: User, new_password: str | None, client: ClientInfo) -> TokenPair:
    with transaction.atomic():
        if user.tenant_id is None:  # adopted v1 user: give them their personal tenant now
            user.tenant = Tenant.objects.create(name=user.email, plan=Plan.FREE)
        user.last_login = timezone.now()
        fields = ["last_login", "tenant", "updated_at"]
        if new_password:
            user.password = new_password
            fields.append("password")
        user.save(update_fields=fields)
        pair, session = _open_session(user=user, family_id=uuid.uuid4(), client=client)
        audit_append(
            action=AuditAction.LOGIN_SUCCEEDED,
            user_id=user.pk,
            tenant_id=user.tenant_id,
            resource_type="session",
            resource_id=session.jti,
            details={"password_rehashed": bool(new_password)},
            ip_address=client.ip_address,
        )
    return pair


def _login_candidate(*, email: str) -> User | None:
    """The user with this email (case-insensitive), the database connection released after.

    Under a login burst the hash waits in the bounded Argon2 queue for up to seconds; a pooled
    connection held by the request meanwhile would starve the pool (DB_POOL_MAX_SIZE) for every
    other request. Outside a transaction the connection goes back to the pool here and the
    commit after the hash takes one again.
    """
    try:
        return User.objects.select_related("tenant").filter(email__iexact=email).first()
    finally:
        if not connection.in_atomic_block:
            connection.close()


async def user_login(*, email: str, password: str, client: ClientInfo) -> TokenPair:
    """Issue an access/refresh pair. Unknown email and wrong password fail identically.

    v1 passlib hashes (and hashes with outdated parameters) are rewritten on success.
    """
    await login_throttle(email=email, ip=client.ip_address)
    user = await sync_to_async(_login_candidate)(email=email)
    if user is None:
        # Spend the same hashing time as a real check, so timing does not reveal the account.
        await apassword_make(password)
        await sync_to_async(_login_failed)(
            email=email, user=None, reason="unknown_email", client=client
        )
        raise Unauthorized(INVALID_CREDENTIALS)
    is_valid, needs_rehash = await apassword_verify(password, user.password)
    if not is_valid:
        await sync_to_async(_login_failed)(
            email=email, user=user, reason="wrong_password", client=client
        )
        raise Unauthorized(INVALID_CREDENTIALS)
    if not user.is_active:
        await sync_to_async(_login_failed)(email=email, user=user, reason="inactive", client=client)
        raise Unauthorized(ACCOUNT_DISABLED)
    new_password = await apassword_make(password) if needs_rehash else None
    return await sync_to_async(_login_commit)(user=user, new_password=new_password, client=client)


# --- refresh and logout ------------------------------------------------------------------------
def _revoke_family(session: UserSession, now: Any) -> int:
    family = UserSession.objects.filter(revoked_at__isnull=True)
    if session.family_id:
        family = family.filter(family_id=session.family_id)
    else:
        family = family.filter(jti=session.jti)
    return family.update(revoked_at=now)


def sessions_revoke(*, sessions: list[UserSession]) -> int:
    """Revoke each session's whole family (every rotation of its login); the count revoked.

    Their refresh tokens are refused from now on (access tokens live out their 15 minutes).
    """
    jtis = [session.jti for session in sessions]
    families = [session.family_id for session in sessions if session.family_id]
    return (
        UserSession.objects.filter(revoked_at__isnull=True)
        .filter(Q(jti__in=jtis) | Q(family_id__in=families))
        .update(revoked_at=timezone.now())
    )


def _session_for(refresh_token: str, claims: dict[str, Any]) -> UserSession:
    session = (
        UserSession.objects.select_for_update().filter(jti=token_digest(str(claims["jti"]))).first()
    )
    if (
        session is None
        or session.refresh_token_hash != token_digest(refresh_token)
        or str(session.user_id) != claims["uid"]
    ):
        raise Unauthorized(SESSION_INVALID)
    return session


def session_refresh(*, refresh_token: str, client: ClientInfo) -> TokenPair:
    """Rotate a refresh token: the old one is revoked and points at its replacement.

    Presenting a token that was already rotated is treated as theft: the whole family (every
    token descended from the same login) is revoked and the caller gets 401.
    """
    claims = decode_token(refresh_token, typ=REFRESH)
    now = timezone.now()
    with transaction.atomic():
        session = _session_for(refresh_token, claims)
        user = User.objects.select_related("tenant").get(pk=session.user_id)
        if session.revoked_at is not None and session.replaced_by:
            revoked = _revoke_family(session, now)
            audit_append(
                action=AuditAction.REFRESH_REUSE_DETECTED,
                user_id=user.pk,
                tenant_id=user.tenant_id,
                resource_type="session_family",
                resource_id=str(session.family_id or session.jti),
                details={"sessions_revoked": revoked},
                ip_address=client.ip_address,
            )
            reused = True
        elif session.revoked_at is not None or session.expires_at <= now or not user.is_active:
            raise Unauthorized(SESSION_INVALID)
        else:
            pair, new_session = _open_session(
                user=user, family_id=session.family_id or uuid.uuid4(), client=client
            )
            session.revoked_at = now
            session.replaced_by = new_session.jti
            session.save(update_fields=["revoked_at", "replaced_by"])
            audit_append(
                action=AuditAction.TOKEN_REFRESHED,
                user_id=user.pk,
                tenant_id=user.tenant_id,
                resource_type="session",
                resource_id=new_session.jti,
                details={"replaces": session.jti},
                ip_address=client.ip_address,
            )
            reused = False
    if reused:  # raised after commit: the revocation must stick
        raise Unauthorized(REFRESH_REUSED)
    return pair


def session_logout(*, user: User, refresh_token: str, client: ClientInfo) -> None:
    """Revoke the session family of `refresh_token`, which must belong to `user`."""
    claims = decode_token(refresh_token, typ=REFRESH)
    if claims["uid"] != str(user.pk):
        raise Unauthorized(SESSION_INVALID)
    with transaction.atomic():
        session = _session_for(refresh_token, claims)
        revoked = _revoke_family(session, timezone.now())
        if revoked:
            audit_append(
                action=AuditAction.LOGOUT,
                user_id=user.pk,
                tenant_id=user.tenant_id,
                resource_type="session_family",
                resource_id=str(session.family_id or session.jti),
                details={"sessions_revoked": revoked},
                ip_address=client.ip_address,
            )
