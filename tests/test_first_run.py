"""What a newcomer does: the README's run command on a bare clone, on the embedded default."""

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.processes import ROOT, free_port, wait_for

pytestmark = pytest.mark.slow

SERVICE_VARS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "VAR_DIR",
    "DEBUG",
    "BACKOFFICE_VENV",
    "REQUIRE_SERVICES",
    "DJANGO_SETTINGS_MODULE",
    "VIRTUAL_ENV",
)


def copy_of_the_repository(target: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file():
            destination = target / name.decode()
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(source.read_bytes())
    return target


def get(opener, url: str, data: dict | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, data=body, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def test_run_command_starts_everything_on_a_bare_clone_and_stops_on_ctrl_c(tmp_path):
    # given a fresh clone and an environment that names no service
    clone = copy_of_the_repository(tmp_path / "clone")
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    port, worker_metrics_port = free_port(), free_port()
    log = tmp_path / "run.log"
    base = f"http://127.0.0.1:{port}"

    # when the newcomer runs the README's run command
    process = subprocess.Popen(
        [
            sys.executable,
            "dev.py",
            "run",
            "--port",
            str(port),
            "--worker-metrics-port",
            str(worker_metrics_port),
        ],
        cwd=clone,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        wait_for(
            lambda: get(opener, f"{base}/admin/login/")[0] == 200,
            timeout=600,
            what="the admin login page",
            logs=(log,),
        )

        # then the printed demo login works
        logins = dict(re.findall(r"^\s+(admin)\s+(\S+)\s+superuser$", log.read_text(), re.M))
        assert "admin" in logins, log.read_text()
        status, page = get(opener, f"{base}/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, page = get(
            opener,
            f"{base}/admin/login/?next=/admin/",
            {
                "csrfmiddlewaretoken": token,
                "username": "admin",
                "password": logins["admin"],
                "next": "/admin/",
            },
        )
        assert status == 200 and "Log out" in page, page[:2000]

        # and the worker has run jobs, visible in the admin
        def a_job_run_succeeded():
            status, page = get(opener, f"{base}/admin/jobs/jobrun/?outcome__exact=succeeded")
            return status == 200 and "field-job" in page

        wait_for(a_job_run_succeeded, timeout=180, what="a job run by the worker", logs=(log,))

        # and the run command said where health and metrics answer, and they do
        printed = log.read_text()
        worker_metrics = f"http://127.0.0.1:{worker_metrics_port}/metrics"
        for url in (f"{base}/healthz", f"{base}/readyz", f"{base}/metrics", worker_metrics):
            assert url in printed, printed[-3000:]
        assert get(opener, f"{base}/healthz")[0] == 200
        wait_for(
            lambda: get(opener, f"{base}/readyz")[0] == 200,
            timeout=120,
            what="the system to be ready (database, migrations, broker, beat)",
            logs=(log,),
        )
        status, page = get(opener, f"{base}/metrics")
        assert status == 200 and 'backoffice_accounts{state="active"}' in page, page[:2000]
        wait_for(
            lambda: "backoffice_celery_tasks_total{" in get(opener, worker_metrics)[1],
            timeout=60,
            what="the worker's task metrics",
            logs=(log,),
        )
    finally:
        # when Ctrl-C reaches the run command
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise

    # then web, worker and beat are all gone and the run command says so
    assert process.returncode == 0, log.read_text()[-3000:]

    def group_gone():
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(group_gone, timeout=30, what="web, worker and beat to be gone", logs=(log,))
    assert "stopped" in log.read_text()
