"""URLs: the staff admin and its language switch, plus the three small public endpoints
(SPEC: sign-up, unsubscribe, hosted files), which live under /p/."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

admin.site.site_header = _("Back office — accounts, billing, compliance")
admin.site.site_title = _("Back office")
admin.site.index_title = _("Customer accounts from trial to purge")

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    # The language switch in the admin header posts here; the choice is kept in a cookie.
    path("i18n/", include("django.conf.urls.i18n")),
    path("p/", include("accounts.urls")),
    # The sending platform's suppression API and the mail providers' webhooks.
    path("api/", include("api.urls")),
]

# A refused page in the admin's own style, naming the role that may open it.
handler403 = "backoffice.errors.permission_denied"
