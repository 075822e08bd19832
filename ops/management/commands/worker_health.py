"""`manage.py worker_health [--name celery@HOST] [--timeout 5]`: for an orchestrator's
liveness probe of a Celery worker. Exit 0 when the worker answers a ping through the broker
within the timeout, 1 when it does not (stopped, stuck, or cut off from the broker); one line
either way.

`--name` is the worker's node name as started (`-n`); `%h` stands for this host's name, as in
Celery. The default is Celery's own default name on this host, `celery@HOST`.
"""

from __future__ import annotations

import socket
import sys
import time

from celery import current_app as app
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Exit 0 when the named Celery worker answers a ping within the timeout, else 1."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="celery@%h", help="worker node name (-n)")
        parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait")

    def handle(self, *args, name: str, timeout: float, **options):

        if timeout <= 0:
            raise CommandError("--timeout must be a positive number of seconds")
        node = name.replace("%h", socket.gethostname())
        started = time.perf_counter()
        try:
            replies = app.control.ping(destination=[node], timeout=timeout)
        except Exception as exc:  # kombu raises the transport's own errors
            self.stderr.write(f"worker {node}: broker unreachable ({type(exc).__name__})")
            sys.exit(1)
        answered = any(node in reply for reply in replies)
        ms = (time.perf_counter() - started) * 1000
        if not answered:
            self.stderr.write(f"worker {node}: no answer within {timeout:g} s")
            sys.exit(1)
        self.stdout.write(f"worker {node}: alive ({ms:.0f} ms)")
