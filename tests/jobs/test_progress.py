"""Progress of long commands: a tqdm bar on a terminal, plain log lines otherwise; `runjob`
hands a progress callback to the jobs that take one."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper

from core import progress as progress_module
from core.progress import Progress
from jobs.models import JobRun
from jobs.registry import JOBS, get_job, register, reports_progress, run_function


class FakeStream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_off_a_terminal_progress_writes_plain_lines_and_a_done_line(monkeypatch):
    monkeypatch.setattr(progress_module, "LOG_EVERY_SECONDS", 0)
    stream = FakeStream(tty=False)

    with Progress(total=10, label="importing", stream=stream) as progress:
        progress.advance(4)
        progress.advance(6)

    assert progress.bar is None
    lines = stream.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "importing: 4/10 rows",
        "importing: 10/10 rows",
        "importing: 10/10 rows",
    ]
    assert lines[-1].endswith("/s) done")
    assert "\r" not in stream.getvalue()


def test_off_a_terminal_lines_come_at_most_every_few_seconds():
    stream = FakeStream(tty=False)

    with Progress(total=None, label="billing", unit="items", stream=stream) as progress:
        for _ in range(1000):
            progress.advance(1)

    lines = stream.getvalue().splitlines()
    # the first step is reported at once, the rest within the interval only by the last line
    assert len(lines) == 2
    assert lines[0].startswith("billing: 1 items (")
    assert lines[1].startswith("billing: 1,000 items (") and lines[1].endswith(" done")


def test_on_a_terminal_progress_draws_a_tqdm_bar_and_no_log_lines():
    from tqdm import tqdm

    stream = FakeStream(tty=True)

    with Progress(total=10, label="exporting", stream=stream) as progress:
        assert isinstance(progress.bar, tqdm)
        progress.advance(10)

    output = stream.getvalue()
    assert "\r" in output and "exporting" in output and "10/10" in output
    assert " done" not in output


def test_a_commands_output_wrapper_on_a_terminal_gets_a_bar_on_the_real_stream():
    raw = FakeStream(tty=True)
    wrapped = OutputWrapper(raw)

    with Progress(total=3, label="reading", stream=wrapped) as progress:
        assert progress.bar is not None
        for _ in range(3):
            progress.advance(1)

    # the bar redraws in place: only the final close ends a line (the wrapper would end each)
    assert raw.getvalue().count("\n") == 1


def test_a_failure_ends_with_a_stopped_line_not_done():
    stream = FakeStream(tty=False)

    with pytest.raises(RuntimeError), Progress(total=5, label="purging", stream=stream) as p:
        p.advance(2)
        raise RuntimeError("database went away")

    assert stream.getvalue().splitlines()[-1].endswith(" stopped")
    p.close()  # closing again writes nothing more
    assert stream.getvalue().count("stopped") == 1


@pytest.fixture
def batch_job():
    """A job working through three batches, registered only for the test."""

    @register("batched", description="three batches")
    def batched(*, as_of, dry_run, progress=None):
        for size in (500, 500, 200):
            if progress:
                progress(size)
        return {"done": 1200}

    @register("batched_failing", description="fails after a batch")
    def batched_failing(*, as_of, dry_run, progress=None):
        progress(100)
        raise RuntimeError("gateway unreachable")

    @register("plain", description="takes no progress")
    def plain(*, as_of, dry_run):
        return {"done": 1}

    yield
    for name in ("batched", "batched_failing", "plain"):
        JOBS.pop(name, None)


def test_run_function_passes_progress_only_to_jobs_that_take_it(batch_job):
    steps: list[int] = []
    moment = datetime(2026, 3, 1, tzinfo=UTC)

    assert run_function(get_job("batched"), as_of=moment, dry_run=False, progress=steps.append)
    assert steps == [500, 500, 200]
    # a job without the keyword runs as before, whatever the caller offers
    assert run_function(get_job("plain"), as_of=moment, dry_run=False, progress=steps.append) == {
        "done": 1
    }
    assert (reports_progress(get_job("batched")), reports_progress(get_job("plain"))) == (
        True,
        False,
    )


@pytest.mark.django_db
def test_runjob_off_a_terminal_prints_progress_lines_and_done(batch_job, monkeypatch):
    monkeypatch.setattr(progress_module, "LOG_EVERY_SECONDS", 0)
    out, err = io.StringIO(), io.StringIO()

    call_command("runjob", "batched", stdout=out, stderr=err)

    lines = [line.split(" (")[0] for line in err.getvalue().splitlines()]
    assert lines == [
        "batched: 500 items",
        "batched: 1,000 items",
        "batched: 1,200 items",
        "batched: 1,200 items",
    ]
    assert err.getvalue().splitlines()[-1].endswith(" done")
    assert "done=1200" in out.getvalue()
    assert JobRun.objects.get(job="batched").counts == {"done": 1200}


@pytest.mark.django_db
def test_runjob_of_a_job_without_progress_prints_no_progress(batch_job):
    err = io.StringIO()

    call_command("runjob", "plain", stdout=io.StringIO(), stderr=err)

    assert err.getvalue() == ""


@pytest.mark.django_db
def test_runjob_of_a_failing_job_ends_its_progress_with_stopped(batch_job):
    err = io.StringIO()

    with pytest.raises(CommandError, match="gateway unreachable"):
        call_command("runjob", "batched_failing", stdout=io.StringIO(), stderr=err)

    assert err.getvalue().splitlines()[-1].startswith("batched_failing: 100 items")
    assert err.getvalue().splitlines()[-1].endswith(" stopped")
