"""The sending platform's suppression API and the mail providers' webhooks, under /api/."""

from django.urls import path

from api import views, webhooks

app_name = "api"
urlpatterns = [
    path("v1/suppressions/check", views.check, name="check"),
    path("v1/suppressions", views.record, name="record"),
    path("v1/openapi.json", views.schema, name="schema"),
    path("v1/webhooks/<slug:provider>/tracking/", webhooks.tracking, name="tracking"),
]
