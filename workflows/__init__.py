"""Flows that cross apps, above the domain apps (``accounts`` below ``billing`` and
``compliance``, which never import each other). Each workflow locks what it changes (the
account row first, then billing's), calls each app's own services in order and records the
event, all in one transaction; side effects (email) go out on commit.

Import a workflow from its module (``from workflows.desk import cancellation_call_take``): a
presentation module then depends only on the apps that flow touches.
"""
