"""URLs: the staff admin, plus the three small public endpoints (SPEC: sign-up, unsubscribe,
hosted files), which live under /p/."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Back office — accounts, billing, compliance"
admin.site.site_title = "Back office"
admin.site.index_title = "Customer accounts from trial to purge"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("p/", include("accounts.urls")),
]
