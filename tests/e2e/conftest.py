"""Browser tests: Playwright drives Debian's Chromium against the app on localhost.

Screenshots of every test land in var/e2e/ (kept by CI as artifacts).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.processes import ROOT

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "var" / "e2e"


@pytest.fixture(scope="session")
def browser(django_db_setup, django_db_blocker):
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(
                "Debian's chromium is required for browser tests (apt-get install chromium)"
            )
        pytest.skip("Debian's chromium is not installed")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright runs the test inside a greenlet with its own context, where Django hands out
    # fresh connection objects; they must still find the migrations' data that transactional
    # tests restore between tests (staff roles, schedules), so it moves to the class.
    with django_db_blocker.unblock():
        for connection in connections.all():
            contents = getattr(connection, "_test_serialized_contents", None)
            if contents is not None:
                type(connection)._test_serialized_contents = contents

    # Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests
    # make between browser steps are still synchronous and safe. Only while the browser runs.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def log_in(live_server):
    """Log in as a person does: the password, then (for the roles that need it) the code of
    the staff member's authenticator app, computed from its key as the app would."""
    from django.contrib.auth import get_user_model
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from backoffice.twofactor import second_factor_required

    def log_in(page, username: str, password: str) -> None:
        user = get_user_model().objects.get(username=username)
        device = None
        if second_factor_required(user):
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        if device is not None:
            page.wait_for_selector("#two-factor-verify")
            code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
            page.fill("#id_code", f"{code:0{device.digits}d}")
            page.click("#two-factor-verify input[type=submit]")
        page.wait_for_selector("#user-tools")

    return log_in
