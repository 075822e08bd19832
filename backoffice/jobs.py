from backoffice.services import state_snapshot_take
from jobs.registry import register


@register("snapshot_states", description="Count accounts per state for the dashboard's history")
def snapshot_states(*, as_of, dry_run) -> dict[str, int]:
    if dry_run:
        return {}
    return state_snapshot_take(now=as_of)
