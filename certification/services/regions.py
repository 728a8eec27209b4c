"""The region register below district level: townships/streets and villages/communities."""

from __future__ import annotations

from certification import access
from certification.access import Actor
from certification.errors import AlreadyExists, ValidationFailed
from certification.model import Region
from certification.regions import DISTRICTS, RegionLevel, level_of, parent_of
from certification.services.context import UseCaseContext


def add_region(ctx: UseCaseContext, actor: Actor, *, code: str, name: str) -> Region:
    access.require_operator(actor, "maintain the region register")
    level = level_of(code)
    if level not in (RegionLevel.TOWNSHIP, RegionLevel.VILLAGE):
        raise ValidationFailed(
            "Districts and counties are fixed by GB/T 2260; add townships (9 digits) or "
            "villages (12 digits).",
            field="code",
        )
    name = name.strip()
    if not name or len(name) > 64:
        raise ValidationFailed("A region name has 1-64 characters.", field="name")
    parent = parent_of(code)
    assert parent is not None
    if level is RegionLevel.VILLAGE and ctx.uow.regions.get(parent) is None:
        raise ValidationFailed(
            f"Township {parent} must be registered before its villages.", field="code"
        )
    if ctx.uow.regions.get(code) is not None:
        raise AlreadyExists(f"Region {code} is already registered.", field="code")
    region = Region(code=code, name=name, level=level, parent_code=parent)
    ctx.uow.regions.add(region)
    ctx.audit(actor, "region.added", "region", code, name=name)
    ctx.uow.commit()
    return region


def list_children(ctx: UseCaseContext, parent_code: str | None) -> list[Region]:
    """Districts of the city, or the registered children of a district or township."""
    if parent_code is None:
        return [
            Region(code=c, name=n, level=RegionLevel.DISTRICT, parent_code="500000")
            for c, n in DISTRICTS.items()
        ]
    level_of(parent_code)
    return ctx.uow.regions.children(parent_code)
