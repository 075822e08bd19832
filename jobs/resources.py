"""CSV export of job runs (export only: runs are a record)."""

from __future__ import annotations

import json

from exchanges.exports import Column, StreamingExport


class JobRunExport(StreamingExport):
    filename = "job-runs"
    columns = (
        Column("id"),
        Column("job"),
        Column("as_of"),
        Column("dry_run"),
        Column("trigger"),
        Column("started_at"),
        Column("finished_at"),
        Column("outcome"),
        Column("counts", lambda run: json.dumps(run.counts, sort_keys=True)),
        Column("error"),
        Column("worker"),
    )
