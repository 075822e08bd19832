"""Failed staff logins are throttled (django-axes): a guessed password stops working."""

import pytest

pytestmark = pytest.mark.django_db


def attempt(client, username: str, password: str):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR="203.0.113.7",
    )


def test_five_wrong_passwords_lock_the_login_even_with_the_right_one_then(
    client, django_user_model, settings
):
    django_user_model.objects.create_user("clerk", password="right-pw-2026", is_staff=True)

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "clerk", "guess").status_code == 200  # the form again
    locked = attempt(client, "clerk", "guess")
    after = attempt(client, "clerk", "right-pw-2026")

    assert locked.status_code == 429
    assert after.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_few_mistakes_then_the_right_password_logs_in(client, django_user_model):
    django_user_model.objects.create_user("agent", password="right-pw-2026", is_staff=True)

    attempt(client, "agent", "typo")
    attempt(client, "agent", "typo again")
    response = attempt(client, "agent", "right-pw-2026")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
