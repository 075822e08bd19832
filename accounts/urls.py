"""The public endpoints (no login): sign-up form posts, unsubscribe links, hosted files."""

app_name = "public"
urlpatterns: list = []
