"""The one path from the operators' console into the audit chain.

`AuditedAdmin` is the base class of every admin that can write (the walk test in
gpubroker/tests/test_admin_console.py checks it): Django calls `log_addition`, `log_change`
and `log_deletions` for every add, change (password changes included) and delete, bulk
deletions too, and each call also appends to the audit chain through `audit_append`, in the
admin's own transaction. Custom actions call `log_operator_action`, which writes the object's
history entry (Django's LogEntry, shown under "History") and the audit row the same way.

An audit row says who (`user_id`, `tenant_id`, the client IP as `client_ip` resolves it behind
a trusted proxy), what (`action`: `admin.add`, `admin.change`, `admin.delete` or
`admin.<operator action>`; `resource_type` = `app_label.model`; `resource_id` = the primary
key; `details` = the object's name, Django's change message and the request's trace id) and
when (`created_at`). Change messages name the fields changed, never their values, so no secret
reaches the chain.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.http import HttpRequest

from apps.auth_app.audit import audit_append
from gpubroker.core.context import trace_id_var
from gpubroker.core.ratelimit import client_ip

ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}
_OBJECT_REPR_MAX = 200


def admin_audit_append(
    request: HttpRequest,
    *,
    action: str,
    resource_type: str = "",
    resource_id: str = "",
    object_repr: str = "",
    message: str = "",
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append one operator action to the audit chain: who (from `request`), what, when.

    `action` is `admin.add|change|delete` or `admin.<operator action>`; `details` adds
    JSON-safe facts (counts, outcomes) to the object's name, the message and the trace id.
    """
    user = getattr(request, "user", None)
    facts: dict[str, Any] = {"object": object_repr[:_OBJECT_REPR_MAX], "message": message}
    if trace_id := trace_id_var.get():
        facts["trace_id"] = trace_id
    facts.update(details or {})
    audit_append(
        action=action,
        user_id=getattr(user, "pk", None),
        tenant_id=getattr(user, "tenant_id", None),
        resource_type=resource_type,
        resource_id=resource_id,
        details=facts,
        ip_address=_request_ip(request),
    )


def _acting_user_id(request: HttpRequest) -> Any:
    user_id = request.user.pk
    assert user_id is not None  # the admin serves staff users only
    return user_id


def _request_ip(request: HttpRequest) -> str | None:
    ip = client_ip(request)
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:  # "unknown": no peer address (a request built outside a server)
        return None


def _append_entry(
    request: HttpRequest,
    entry: LogEntry,
    *,
    action: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    content_type = (
        ContentType.objects.get_for_id(entry.content_type_id) if entry.content_type_id else None
    )
    admin_audit_append(
        request,
        action=action or ADMIN_ACTIONS.get(entry.action_flag, "admin.change"),
        resource_type=f"{content_type.app_label}.{content_type.model}" if content_type else "",
        resource_id=entry.object_id or "",
        object_repr=entry.object_repr,
        message=entry.get_change_message(),
        details=details,
    )


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose adds, changes, deletions and custom actions reach the audit chain."""

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> LogEntry:
        """Django's history entry for an added object, and its audit row (`admin.add`)."""
        entry = super().log_addition(request, obj, message)
        _append_entry(request, entry)
        return entry

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> LogEntry:
        """Django's history entry for a changed object, and its audit row (`admin.change`)."""
        entry = super().log_change(request, obj, message)
        _append_entry(request, entry)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        """Django's history entries for objects about to be deleted, one audit row each."""
        entries = super().log_deletions(request, queryset)
        for entry in entries:
            _append_entry(request, entry)
        return entries

    def log_operator_action(
        self,
        request: HttpRequest,
        *,
        action: str,
        message: str,
        objects: Iterable[models.Model] = (),
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a custom action: a history entry and an audit row (`admin.<action>`) per object.

        With no object (e.g. verifying the whole audit chain), one audit row naming this
        admin's model. One transaction for all of them.
        """
        audit_action = f"admin.{action}"
        with transaction.atomic():
            wrote = False
            for obj in objects:
                entry = LogEntry.objects.log_actions(
                    user_id=_acting_user_id(request),
                    queryset=[obj],
                    action_flag=CHANGE,
                    change_message=message,
                    single_object=True,
                )
                _append_entry(request, entry, action=audit_action, details=details)
                wrote = True
            if not wrote:
                admin_audit_append(
                    request,
                    action=audit_action,
                    resource_type=self.opts.label_lower,
                    message=message,
                    details=details,
                )
