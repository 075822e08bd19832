"""The public endpoints (no login): sign-up form posts, unsubscribe links, hosted files."""

from django.urls import path

from accounts import views

app_name = "public"
urlpatterns = [
    path("signup/<str:public_key>/", views.signup, name="signup"),
    path("files/<str:public_key>/", views.hosted_file, name="hosted_file"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
