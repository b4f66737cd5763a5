"""Request and response schemas of the auth endpoints (SPEC.md "Endpoints", auth rows)."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import field_validator

# Far above any real password and far below what would make hashing expensive: a 1 MB
# "password" is refused by validation, before any hashing.
PASSWORD_MAX_LENGTH = 256


def _normalized_email(value: str) -> str:
    email = value.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValueError("Enter a valid email address") from exc
    return email


class RegisterIn(Schema):
    """POST /auth/register."""

    email: str = Field(max_length=255)
    password: str = Field(max_length=PASSWORD_MAX_LENGTH)
    full_name: str = Field(min_length=1, max_length=255)
    organization: str | None = Field(default=None, max_length=255)

    @field_validator("email")
    @classmethod
    def email_is_valid(cls, value: str) -> str:
        """A syntactically valid email, lower-cased; ValueError (422) otherwise."""
        return _normalized_email(value)

    @field_validator("full_name")
    @classmethod
    def full_name_not_blank(cls, value: str) -> str:
        """ValueError (422) for a name of only spaces."""
        if not value.strip():
            raise ValueError("full_name must not be blank")
        return value


class LoginIn(Schema):
    """POST /auth/login."""

    email: str = Field(max_length=255)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)

    @field_validator("email")
    @classmethod
    def email_is_lowercase(cls, value: str) -> str:
        # No syntax check here: a malformed email is simply an unknown account (same 401).
        """The email trimmed and lower-cased."""
        return value.strip().lower()


class RefreshIn(Schema):
    """POST /auth/refresh and /auth/logout: a refresh token."""

    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenPairOut(Schema):
    """An access and a refresh token; `expires_in` is the access token's lifetime in seconds."""

    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class UserOut(Schema):
    """A user as POST /auth/register returns it."""

    id: uuid.UUID
    email: str
    full_name: str
    organization: str | None
    is_active: bool
    created_at: datetime


class TenantOut(Schema):
    """A user's tenant and plan."""

    id: uuid.UUID
    name: str
    plan: str


class MeOut(UserOut):
    """GET /auth/me: the user, role and tenant."""

    is_verified: bool
    last_login: datetime | None
    role: str
    tenant: TenantOut | None
