"""A page that fails, for the error-reporting tests (tests/ops/test_sentry.py)."""

from django.urls import path

from accounts.models import Account


def failing_page(request):
    email = request.GET["q"]
    token = "tok_ok_zq7SECRETcardTOKENx91"
    Account.objects.filter(primary_email=email).exists()
    raise RuntimeError(f"charging {token} for {email} failed")


urlpatterns = [path("failing/", failing_page)]
