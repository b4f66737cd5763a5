"""Operators' admin for tenants, users and the (read-only) audit chain."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.http import HttpRequest

from apps.auth_app.models import AuditLog, Tenant, User


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Tenants with their plan and limits (requests/s, WebSockets)."""

    list_display = ("name", "plan", "rate_limit_rps", "ws_limit", "created_at")
    list_filter = ("plan",)
    search_fields = ("name",)


class UserCreationForm(BaseUserCreationForm):
    """The admin's add-user form: email (the username) and full name."""

    class Meta:
        model = User
        fields = ("email", "full_name")


class UserEditForm(UserChangeForm):
    """The admin's change-user form over every field."""

    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users keyed by email; passwords go through the project's Argon2 hashers."""

    form = UserEditForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = ("email", "full_name", "tenant", "role", "is_active", "is_staff", "created_at")
    list_filter = ("role", "is_active", "is_staff", "is_superuser")
    search_fields = ("email", "full_name", "organization")
    readonly_fields = ("created_at", "updated_at", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "organization", "tenant", "role")}),
        (
            "Status",
            {"fields": ("is_active", "is_verified", "is_staff", "is_superuser", "mfa_enabled")},
        ),
        ("Permissions", {"fields": ("groups", "user_permissions")}),
        ("Dates", {"fields": ("created_at", "updated_at", "last_login")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "password1", "password2"),
            },
        ),
    )


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only: the application never edits or deletes audit rows."""

    list_display = ("id", "created_at", "action", "user_id", "tenant_id", "ip_address")
    list_filter = ("action",)
    search_fields = ("action", "resource_id")
    ordering = ("-id",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """Every field: the audit log is append-only and hash-chained."""
        return [field.name for field in AuditLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Never: rows come from `audit_append`."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: an edit would break the hash chain."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: a deletion would break the hash chain."""
        return False
