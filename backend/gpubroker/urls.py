"""Top-level routes: the v2 API, health, metrics, the operators' admin and the market board."""

from django.contrib import admin
from django.urls import include, path

from gpubroker.api.v2 import api
from gpubroker.core.health import health
from gpubroker.core.metrics import metrics

urlpatterns = [
    path("health", health, name="health"),
    path("health/", health),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v2/", api.urls),
    # The live market board at `/` (apps/board).
    path("", include("apps.board.urls")),
]

handler400 = "gpubroker.core.views.bad_request"
handler403 = "gpubroker.core.views.permission_denied"
handler404 = "gpubroker.core.views.page_not_found"
handler500 = "gpubroker.core.views.server_error"
