"""Accounts: tenants, users (v1 table `users`), refresh sessions (v1) and the audit chain."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone

from apps.auth_app.hashers import apassword_make, apassword_verify, password_make, password_verify


class Plan(models.TextChoices):
    """A tenant's plan; it sets the default requests per second."""

    FREE = "free", "Free"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"


class Role(models.TextChoices):
    """A user's role within the platform."""

    USER = "user", "User"
    ADMIN = "admin", "Tenant admin"
    OPERATOR = "operator", "Operator"


class Tenant(models.Model):
    """An account that owns users, integrations and a rate-limit plan.

    `rate_limit_rps` overrides the plan default when set; `ws_limit` caps concurrent sockets.
    """

    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    rate_limit_rps = models.PositiveIntegerField("Rate limit (req/s)", null=True, blank=True)
    ws_limit = models.PositiveIntegerField(default=10)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "tenants"

    def __str__(self) -> str:
        return f"{self.name} ({self.plan})"


class UserManager(BaseUserManager["User"]):
    """Creates users keyed by a normalised email."""

    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        """A user with a hashed password (unusable when None); ValueError without an email."""
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        """A staff superuser with the operator role."""
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("role", Role.OPERATOR)
        fields.setdefault("full_name", email)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """v1's `users` row. The password lives in v1's `password_hash` column.

    v1 stored passlib argon2id strings there; Django's Argon2 hasher verifies them (see
    `apps.auth_app.hashers`) and the hash is rewritten in Django's format on the next login.
    """

    id = models.UUIDField("ID", primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=255, unique=True)
    password = models.CharField(max_length=255, db_column="password_hash")
    full_name = models.CharField(max_length=255)
    organization = models.CharField(max_length=255, null=True, blank=True)
    is_active = models.BooleanField("Active", default=True)
    is_verified = models.BooleanField("Verified", default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_login = models.DateTimeField(null=True, blank=True)
    # v2 additions (nullable or defaulted so adopting v1 rows needs no backfill).
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.USER)
    mfa_enabled = models.BooleanField("MFA enabled", default=False)
    mfa_secret = models.CharField("MFA secret", max_length=255, null=True, blank=True)
    is_staff = models.BooleanField("Staff", default=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        db_table = "users"

    def __str__(self) -> str:
        return self.email

    # Every hash goes through `apps.auth_app.hashers`: v1 strings verify, and at most
    # ARGON2_MAX_CONCURRENT_HASHES run at once in the process (admin logins included).
    def set_password(self, raw_password: str | None) -> None:
        """Hash with the project's Argon2 hasher, in the bounded pool."""
        self.password = password_make(raw_password)
        self._password = raw_password

    def check_password(self, raw_password: str | None) -> bool:
        """Verify (v1 hashes included) and upgrade the stored hash when it needs it."""
        if raw_password is None:
            return False
        is_valid, needs_rehash = password_verify(raw_password, self.password)
        if needs_rehash:
            self.set_password(raw_password)
            self._password = None
            self.save(update_fields=["password"])
        return is_valid

    async def acheck_password(self, raw_password: str | None) -> bool:
        """Async `check_password`."""
        if raw_password is None:
            return False
        is_valid, needs_rehash = await apassword_verify(raw_password, self.password)
        if needs_rehash:
            self.password = await apassword_make(raw_password)
            await self.asave(update_fields=["password"])
        return is_valid


class UserSession(models.Model):
    """v1's `user_sessions`: one row per issued refresh token, keyed by the hashed jti.

    `family_id` (v2) links the rotations of one login so a reused token revokes them all.
    """

    jti = models.CharField("JWT ID (jti)", max_length=128, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    refresh_token_hash = models.CharField(max_length=255)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.TextField(null=True, blank=True)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    family_id = models.UUIDField("Token family ID", null=True, blank=True, db_index=True)
    replaced_by = models.CharField(max_length=128, null=True, blank=True)

    class Meta:
        db_table = "user_sessions"

    def __str__(self) -> str:
        return f"session {self.jti[:12]} of {self.user_id}"


class AuditLog(models.Model):
    """An append-only, hash-chained record of security-relevant actions.

    `current_hash = sha256(previous_hash + canonical JSON of the row)`; the id orders the chain.
    """

    id = models.BigAutoField("ID", primary_key=True)
    # Plain ids, not foreign keys: deleting a user must never rewrite (and so break) the chain.
    tenant_id = models.UUIDField("Tenant ID", null=True, blank=True)
    user_id = models.UUIDField("User ID", null=True, blank=True)
    action = models.CharField(max_length=64)
    resource_type = models.CharField(max_length=64, blank=True, default="")
    resource_id = models.CharField("Resource ID", max_length=255, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    previous_hash = models.CharField(max_length=64)
    current_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "audit_logs"
        indexes: ClassVar = [
            models.Index(fields=["action", "created_at"], name="audit_action_created_idx"),
            models.Index(fields=["tenant_id", "created_at"], name="audit_tenant_created_idx"),
            # The operators' console looks rows up by the user who acted and by the resource.
            models.Index(fields=["user_id", "created_at"], name="audit_user_created_idx"),
            models.Index(fields=["resource_id"], name="audit_resource_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.action}"
