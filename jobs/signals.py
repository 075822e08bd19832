"""What the runs tell whoever watches them (error reporting's cron monitors, the logs).

Sent by jobs.services outside the run's transactions; a receiver must not fail the run, so
each is sent with `send_robust`.

- `job_run_started(run=JobRun)`: a run was recorded and its batches planned.
- `job_run_finished(run=JobRun)`: its last batch ended; `run.outcome` says how.
"""

from django.dispatch import Signal

job_run_started = Signal()
job_run_finished = Signal()
