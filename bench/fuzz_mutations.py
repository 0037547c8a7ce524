"""The fuzzer's 19 mutation categories and its plan: which payload kind and which random stream each delivery gets.

Every item is reproducible from the seed, its category and its number (`python -m bench.fuzz --show CAT:N`); only
the timestamps, event times and the fake Slack's trigger ids and response_urls differ between runs.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bench.fuzz_fields import FIELD_CATEGORIES
from bench.fuzz_kinds import KINDS, Kind, Target
from bench.fuzz_wire import WIRE_CATEGORIES, Mutation

__all__ = ["CATEGORIES", "budgets", "item"]

CATEGORIES: dict[str, Callable[[Kind, Target, random.Random], list[Mutation]]] = {
    **WIRE_CATEGORIES,
    **FIELD_CATEGORIES,
}


def budgets(deliveries: int, categories: list[str], seed: int) -> list[tuple[str, int]]:
    """The categories in a seeded order, with the number of requests each sends (they add up to `deliveries`)."""
    order = list(categories)
    random.Random(f"{seed}:order").shuffle(order)
    share, extra = divmod(deliveries, len(order))
    return [(name, share + (1 if i < extra else 0)) for i, name in enumerate(order)]


def item(category: str, number: int, seed: int, target: Target) -> tuple[Kind, list[Mutation]]:
    """Item `number` of a category: the kinds take turns, each item has its own random stream."""
    offset = random.Random(f"{seed}:{category}:kinds").randrange(len(KINDS))
    kind = KINDS[(number + offset) % len(KINDS)]
    rng = random.Random(f"{seed}:{category}:{number}")
    return kind, CATEGORIES[category](kind, target, rng)
