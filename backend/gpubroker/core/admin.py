"""Admin building blocks shared by the apps."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff; rows are written only by management commands."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Never: rows come from management commands."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        """Never: an edit would be overwritten by the command that owns the rows."""
        return False
