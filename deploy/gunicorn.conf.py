"""gunicorn settings for the web processes' metrics: `gunicorn -c deploy/gunicorn.conf.py
backoffice.wsgi -w 4 ...` with PROMETHEUS_MULTIPROC_DIR set to an empty directory of the web
service's own on this host (see README, "Metrics").

With several workers, each counts its requests and queries in that directory and whichever
answers /metrics adds them all up. The directory is emptied when gunicorn starts (figures of
an earlier life would be added in), and a worker that exits hands back its live gauges.
Without PROMETHEUS_MULTIPROC_DIR these hooks do nothing.
"""

import os
from pathlib import Path


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        for path in Path(directory).glob("*.db"):
            path.unlink(missing_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
