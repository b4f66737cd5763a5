"""Admin view of quarantined GPU names: each unknown provider string with its provider and count.

Registered on the `QuarantinedGpuName` proxy so it has its own entry (and view permission) in
the console; the page is one grouped query (`selectors.quarantine.quarantined_gpu_names`), not
a changelist of offers. Each row links to its offers in the offer list.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from apps.providers.models import Provider, QuarantinedGpuName
from apps.providers.selectors.quarantine import QUARANTINE_VIEW_LIMIT, quarantined_gpu_names
from gpubroker.core.admin import ViewOnlyAdmin


@admin.register(QuarantinedGpuName)
class QuarantinedGpuNameAdmin(ViewOnlyAdmin):
    """One page: unknown GPU strings by provider, most offers first; `?provider=<id>` filters.

    View only: fix the catalogue (apps/gpus/data/gpus.json) and the next sync lists them.
    """

    def get_urls(self) -> list[URLPattern]:
        """Only the list: a (provider, name) group has no page of its own."""
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name="{}_{}_changelist".format(*info),
            )
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> TemplateResponse:
        """The grouped quarantine table, optionally for one provider."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        providers = list(Provider.objects.order_by("name").values_list("pk", "name"))
        selected = _provider_param(request.GET.get("provider"), {pk for pk, _ in providers})
        rows = quarantined_gpu_names(provider_id=selected)
        offers_url = reverse("admin:providers_gpuoffer_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Quarantined GPU names",
            "subtitle": None,
            "rows": [
                {
                    "row": row,
                    "offers_url": offers_url
                    + "?"
                    + urlencode(
                        {
                            "provider__id__exact": row.provider_id,
                            "quarantined": "yes",
                            "q": f'"{row.gpu_name_raw}"',
                        }
                    ),
                }
                for row in rows
            ],
            "limit": QUARANTINE_VIEW_LIMIT,
            "is_truncated": len(rows) >= QUARANTINE_VIEW_LIMIT,
            "providers": providers,
            "selected": selected,
            **(extra_context or {}),
        }
        return TemplateResponse(
            request, "admin/providers/quarantinedgpuname/change_list.html", context
        )


def _provider_param(value: str | None, known: set[uuid.UUID]) -> uuid.UUID | None:
    """The `provider` query parameter as a known provider id; anything else shows them all."""
    try:
        provider_id = uuid.UUID(value or "")
    except ValueError:
        return None
    return provider_id if provider_id in known else None
