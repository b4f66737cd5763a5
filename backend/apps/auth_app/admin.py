"""Operators' admin for tenants, users, refresh sessions, groups and the read-only audit chain.

Every admin here that can write derives from `AuditedAdmin`, so each add, change, deletion
and custom action is appended to the audit chain (`admin_audit.py`).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import (
    BaseUserCreationForm,
    ReadOnlyPasswordHashField,
    ReadOnlyPasswordHashWidget,
    UserChangeForm,
)
from django.contrib.auth.hashers import identify_hasher
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from apps.auth_app.admin_audit import AuditedAdmin
from apps.auth_app.audit import audit_chain_verify
from apps.auth_app.auth import tenant_rate_limit
from apps.auth_app.models import AuditLog, Tenant, User, UserSession
from apps.auth_app.services import sessions_revoke
from gpubroker.core.admin import LargeTableAdmin, ViewOnlyAdmin


@admin.register(Tenant)
class TenantAdmin(AuditedAdmin, LargeTableAdmin):
    """Tenants with their plan, limits (requests/s, concurrent WebSockets) and user count."""

    list_display = (
        "name",
        "plan",
        "rate_limit_rps",
        "effective_rate_limit",
        "ws_limit",
        "user_count",
        "created_at",
    )
    list_filter = ("plan",)
    search_fields = ("name",)
    ordering = ("name",)
    readonly_fields = ("created_at", "effective_rate_limit")
    fields = ("name", "plan", "rate_limit_rps", "effective_rate_limit", "ws_limit", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        """Tenants with their number of users (a per-row subquery, evaluated for the page only)."""
        users = (
            User.objects.filter(tenant=OuterRef("pk"))
            .order_by()
            .values("tenant")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(user_count=Coalesce(Subquery(users, output_field=IntegerField()), 0))
        )

    @admin.display(description="requests/s in force")
    def effective_rate_limit(self, tenant: Tenant) -> int | None:
        """The override when set, else the plan's default (`tenant_rate_limit`)."""
        return tenant_rate_limit(tenant) if tenant.pk else None

    @admin.display(description="users", ordering="user_count")
    def user_count(self, tenant: Tenant) -> int:
        """Users of the tenant (annotated)."""
        return int(getattr(tenant, "user_count", 0))


class UserCreationForm(BaseUserCreationForm):
    """The admin's add-user form: email (the username) and full name."""

    class Meta:
        model = User
        fields = ("email", "full_name")


class PasswordStatusWidget(ReadOnlyPasswordHashWidget):
    """Whether a password is set and its algorithm; never any part of the hash or salt."""

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        """Django's widget context with the hash summary reduced to the algorithm."""
        context = super().get_context(name, value, attrs)
        summary = [entry for entry in context["summary"] if entry.get("value") is None]
        if not summary:
            summary = [{"label": f"Password set ({identify_hasher(value).algorithm})"}]
        context["summary"] = summary
        return context


class UserEditForm(UserChangeForm):
    """The admin's change-user form; the password is changed through Django's own form."""

    password = ReadOnlyPasswordHashField(
        label="Password",
        widget=PasswordStatusWidget,
        help_text="Passwords are stored as Argon2 hashes; change one with the button.",
    )

    class Meta:
        model = User
        exclude = ("mfa_secret",)


@admin.register(User)
class UserAdmin(AuditedAdmin, LargeTableAdmin, DjangoUserAdmin):
    """Users keyed by email; passwords go through the project's Argon2 hashers."""

    form = UserEditForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = ("email", "full_name", "tenant", "role", "is_active", "is_staff", "created_at")
    list_filter = ("role", "is_active", "is_staff", "is_superuser", "tenant__plan")
    list_select_related = ("tenant",)
    search_fields = ("email", "full_name", "organization", "tenant__name")
    autocomplete_fields = ("tenant",)
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


@admin.register(UserSession)
class UserSessionAdmin(AuditedAdmin, LargeTableAdmin):
    """Refresh sessions (v1 `user_sessions`); the token hash is never shown. Revocable."""

    list_display = ("short_jti", "user", "created_at", "expires_at", "revoked_at", "ip_address")
    list_select_related = ("user",)
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("=user__email",)
    ordering = ("-created_at",)
    fields = (
        "jti",
        "user",
        "family_id",
        "replaced_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "user_agent",
        "ip_address",
    )
    readonly_fields = fields
    actions = ("revoke",)

    @admin.display(description="session")
    def short_jti(self, session: UserSession) -> str:
        """The first characters of the hashed jti (enough to tell sessions apart)."""
        return session.jti[:12]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Never: sessions come from logins."""
        return False

    @admin.action(description="Revoke the selected sessions (and their rotations)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[UserSession]) -> None:
        """Revoke each selected session's whole family; their refresh tokens stop working."""
        sessions = list(queryset)
        revoked = sessions_revoke(sessions=sessions)
        message = f"Revoked {revoked} refresh session(s)"
        self.log_operator_action(
            request,
            action="session_revoke",
            message=message,
            objects=sessions,
            details={"revoked": revoked},
        )
        self.message_user(request, message, messages.SUCCESS)


class AuditKindFilter(admin.SimpleListFilter):
    """Rows by the prefix of their action (the chain's writers name their actions this way)."""

    title = "kind"
    parameter_name = "kind"
    KINDS = (
        ("auth.", "Sign-ins and sessions"),
        ("admin.", "Operators' console"),
        ("booking.", "Bookings"),
        ("integration.", "Provider keys"),
    )

    def lookups(self, request: HttpRequest, model_admin: Any) -> tuple[tuple[str, str], ...]:
        """The known action prefixes (fixed: no DISTINCT over the whole chain)."""
        return self.KINDS

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditLog]) -> QuerySet[AuditLog]:
        """Rows whose action starts with the chosen prefix."""
        prefix = self.value()
        if prefix in dict(self.KINDS):
            return queryset.filter(action__startswith=str(prefix))
        return queryset


@admin.register(AuditLog)
class AuditLogAdmin(AuditedAdmin, ViewOnlyAdmin, LargeTableAdmin):
    """The audit chain, view only for everyone, superusers included; "Verify the chain".

    Rows come from `audit_append`; an edit or a deletion would break the hash chain.
    """

    list_display = (
        "id",
        "created_at",
        "action",
        "user_email",
        "resource_type",
        "resource_id",
        "ip_address",
    )
    list_filter = (AuditKindFilter,)
    # Exact terms only, each on an index: an action, a resource id, a user or tenant id, or
    # a user's email (get_search_results).
    search_fields = ("action", "resource_id")
    search_help_text = "An exact action (admin.change), resource id, user/tenant id or email."
    ordering = ("-id",)
    change_list_template = "admin/auth_app/auditlog/change_list.html"
    fields = (
        "id",
        "created_at",
        "action",
        "user_id",
        "tenant_id",
        "resource_type",
        "resource_id",
        "details_json",
        "ip_address",
        "previous_hash",
        "current_hash",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditLog]:
        """Rows with the acting user's email (a primary-key lookup per row of the page)."""
        email = User.objects.filter(pk=OuterRef("user_id")).values("email")[:1]
        return super().get_queryset(request).annotate(user_email=Subquery(email))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditLog], search_term: str
    ) -> tuple[QuerySet[AuditLog], bool]:
        """Rows naming the term exactly, each alternative on an index (no scan of the chain)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(action=term) | Q(resource_id=term)
        try:
            as_uuid = uuid.UUID(term)
        except ValueError:
            pass
        else:
            match |= Q(user_id=as_uuid) | Q(tenant_id=as_uuid)
        if "@" in term:
            user_ids = list(User.objects.filter(email=term.lower()).values_list("pk", flat=True))
            if user_ids:
                match |= Q(user_id__in=user_ids)
        return queryset.filter(match), False

    @admin.display(description="user", ordering="user_id")
    def user_email(self, row: AuditLog) -> str:
        """The acting user's email, or their id when the user was deleted."""
        return getattr(row, "user_email", None) or (str(row.user_id) if row.user_id else "-")

    @admin.display(description="details")
    def details_json(self, row: AuditLog) -> str:
        """The hashed details as indented JSON."""
        return format_html("<pre>{}</pre>", json.dumps(row.details, indent=2, sort_keys=True))

    def get_urls(self) -> list[URLPattern]:
        """The changelist's URLs plus `verify/` (POST), which runs the chain verification."""
        verify = path(
            "verify/",
            self.admin_site.admin_view(self.verify_view),
            name="auth_app_auditlog_verify",
        )
        return [verify, *super().get_urls()]

    def verify_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """Walk the whole chain (`audit_chain_verify`), report it, and audit the verification."""
        if request.method != "POST" or not self.has_view_permission(request):
            raise PermissionDenied
        report = audit_chain_verify()
        if report.is_intact:
            message = f"Audit chain intact: {report.rows_checked} rows verified"
            level = messages.SUCCESS
        else:
            message = (
                f"Audit chain BROKEN at row #{report.broken_row_id}: {report.reason}"
                f" ({report.rows_checked} rows verified before it)"
            )
            level = messages.ERROR
        self.log_operator_action(
            request,
            action="audit_verify",
            message=message,
            details={
                "intact": report.is_intact,
                "rows_checked": report.rows_checked,
                "broken_row_id": report.broken_row_id,
            },
        )
        self.message_user(request, message, level)
        return HttpResponseRedirect(reverse("admin:auth_app_auditlog_changelist"))


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedAdmin, DjangoGroupAdmin):
    """Django's permission groups, with their changes audited like every other admin write."""
