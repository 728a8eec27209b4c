"""Lifecycles: which changes of status a kind of record may make, one table per kind.

Every record with a status moves only through its lifecycle's ``move``; a move the table
does not allow is refused with a RuleViolation that names both states, so a second request,
a redelivered task or a stale page cannot take a decided record back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from certification.errors import RuleViolation, ValidationFailed

S = TypeVar("S", bound=StrEnum)


class Lifecycle(Generic[S]):
    def __init__(self, noun: str, moves: Mapping[S, Iterable[S]]) -> None:
        self.noun = noun
        self.moves: dict[S, frozenset[S]] = {state: frozenset(to) for state, to in moves.items()}

    def allows(self, current: S, to: S) -> bool:
        return to in self.moves.get(current, frozenset())

    def move(self, current: S, to: S, *, refusal: str | None = None) -> S:
        """``to`` when the lifecycle allows the change, else a RuleViolation (``refusal``, or
        one naming both states)."""
        if not self.allows(current, to):
            raise RuleViolation(
                refusal or f"A {self.noun} that is {current.value} cannot become {to.value}."
            )
        return to

    def is_final(self, state: S) -> bool:
        return not self.moves.get(state)


def state_named(states: type[S], text: str | None, *, field: str = "status") -> S | None:
    """A status filter from a query string: None for no filter, else a member of ``states``
    (an unknown name is a 422 naming the known ones, never a failed query)."""
    if not text:
        return None
    try:
        return states(text)
    except ValueError:
        known = ", ".join(s.value for s in states)
        raise ValidationFailed(
            f"Unknown {field} {text!r}; use one of: {known}.", field=field
        ) from None
