"""The public endpoints (no login): sign-up form posts and their confirmations, unsubscribe
links, hosted files. Form and file keys are slugs: anything else (a NUL byte, a quote) is not
found before it reaches the database."""

from django.urls import path

from accounts import views

app_name = "public"
urlpatterns = [
    path("signup/<slug:public_key>/", views.signup, name="signup"),
    path("confirm/<str:token>/", views.optin_confirm, name="optin_confirm"),
    path("files/<slug:public_key>/", views.hosted_file, name="hosted_file"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
