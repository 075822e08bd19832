"""Which resource reads which import: filled by the admins that offer a CSV import, read by
the worker that previews or writes a large file (it has no admin request to ask)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exchanges.resources import ExchangeResource

RESOURCES: dict[tuple[str, str], type[ExchangeResource]] = {}


class UnknownResource(LookupError):
    pass


def resource_register(model: str, resource_class: type[ExchangeResource]) -> None:
    """`model` as ImportRecord.model names it (app_label.modelname)."""
    RESOURCES[(model, resource_class.__name__)] = resource_class


def resource_named(model: str, name: str) -> type[ExchangeResource]:
    try:
        return RESOURCES[(model, name)]
    except KeyError:
        raise UnknownResource(f"no CSV import {name} of {model}") from None
