"""Which executive gets which complaint this month (design flow 4, "Executives").

`assign` is pure: no database, no clock, no randomness, no I/O. The monthly job gives it
the complaints nobody holds yet, every executive, and a `Past` summary of what each
executive received in earlier months; it returns (complaint id, executive id) pairs in
the order they were picked. The same inputs give the same pairs whatever order the
lists come in, because every ordering below ends in an id.

Algorithm
---------
1. **Rank.** Complaints are ranked most severe first: severity descending, then id
   ascending. *Eligible* executives are those not away with a quota above 0; the
   month's *demand* D is the sum of their quotas and N is the number of complaints.
2. **Pool.** The top ``min(N, D)`` complaints form the pool, the rest the reserve.
   The pool is what gets assigned; only a swap (step 5) changes it.
3. **Hardest.** The month's most severe complaint (rank 1) goes first, to the
   eligible executive with the fewest ``past.hardest``; ties go to anyone but
   ``past.last_hardest`` (last month's holder), then least ``past.load``, then lowest id.
4. **Rounds.** Executives pick one complaint each per round until the pool is empty;
   an executive drops out once their quota is met. Round 1 starts with the holder of
   the hardest complaint, then the others. Every round orders executives by load
   (``past.load`` plus the severity they already received this month), then fewer
   ``past.hardest``, then id. The least-loaded pick first, so the order keeps turning
   over within the month and from month to month.
5. **Pick.** An executive takes the pool complaint that minimises the tuple
   (its topic already received this month, times that topic was received in the past,
   not a home topic or home department, -severity, id). If every complaint in the
   pool repeats a topic they already received this month, they **swap** instead: they
   take the most severe reserve complaint whose topic is new to them, and the least
   severe complaint in the pool moves to the reserve, so the pool still holds exactly
   what is left to assign. If the reserve has no such complaint either, they take a
   repeat from the pool (by the same tuple).

A complaint without a topic (``topic=None``) has no topic to repeat: it is always new
and counts as never received before. Departments follow topics, so spreading topics
spreads departments. A department counts only as a home match.

What this guarantees (tests/test_assignment.py checks each of these with hypothesis):

- Each complaint given at most once, and only complaints that were passed in.
- Executives who are away or have a quota of 0 get nothing. If N >= D, every eligible
  executive gets exactly their quota. Otherwise all N complaints are given out
  round-robin: nobody exceeds their quota, and whenever executive i is below quota,
  nobody has more than one complaint more than i.
- Most severe first: exactly ``min(N, D)`` complaints are assigned, among them the
  top-ranked one, and they are the top ``min(N, D)`` except for swaps. A swapped-in
  complaint (assigned, not in the top) went to an executive who already had, that
  month, the topic of every more severe complaint left unassigned. A top complaint
  left out was dropped at some swap: its topic was one the executive swapping already
  had, and every top complaint picked after that swap is more severe than it. With no
  topic repeated among the top complaints, there are no swaps.
- Topic spread: an executive gets a second complaint of a topic only if every complaint
  still unassigned at that moment has a topic they already have. So after the month
  every unassigned complaint has a topic they received.
  In particular, if at least ``quota`` topics have D or more complaints each, the
  executive gets no repeated topic.
- Rotation: an executive who had the hardest complaint last month does not get it this
  month if someone else is tied with them on fewest past hardest. Suppose the same
  executives are eligible every month, starting from an empty `Past` that is carried
  forward. Then everyone's count of hardest complaints stays within 1 of everyone
  else's, and with two or more executives nobody gets it two months running.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Complaint:
    """An unassigned complaint. Higher severity is worse (e.g. minus the sentiment score)."""

    id: int
    severity: float
    topic: str | None
    department: str | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """An executive as the assignment sees them on the assignment day."""

    id: int
    quota: int  # complaints wanted this month (0 = none)
    away: bool  # out of office on the assignment day: gets nothing
    topics: frozenset[str] = frozenset()  # home topics: preferred, not exclusive
    departments: frozenset[str] = frozenset()  # home departments: preferred, not exclusive


@dataclass(frozen=True, slots=True)
class Past:
    """What each executive received before (all earlier months).

    ``last_hardest`` is the executive who got the most severe complaint in the last
    month that had one. It breaks ties on ``hardest``, so nobody gets it two months
    running. If it is None, that tie-break is skipped.
    """

    hardest: dict[int, int] = field(default_factory=dict)  # times given the month's worst
    topics: dict[int, dict[str, int]] = field(default_factory=dict)  # topic -> times received
    load: dict[int, float] = field(default_factory=dict)  # total severity received so far
    last_hardest: int | None = None


def rank(complaint: Complaint) -> tuple[float, int]:
    """Sort key: most severe first, ties broken by lower id."""
    return (-complaint.severity, complaint.id)


def assign(
    complaints: list[Complaint], candidates: list[Candidate], past: Past
) -> list[tuple[int, int]]:
    """(complaint id, executive id) pairs for this month, in the order they were picked.

    The first pair, if any, is the month's most severe complaint.

    See the module docstring for the algorithm and what it guarantees. Raises
    ValueError on duplicate ids, a negative quota or a NaN severity.
    """
    _validate(complaints, candidates)
    eligible = [c for c in candidates if not c.away and c.quota > 0]
    if not complaints or not eligible:
        return []

    ranked = sorted(complaints, key=rank)
    size = min(len(ranked), sum(c.quota for c in eligible))
    pool = ranked[:size]  # kept in rank order; exactly what is left to assign
    reserve = ranked[size:]  # kept in rank order
    month = _Month(eligible)

    first = min(eligible, key=lambda c: _hardest_key(c, past))
    month.give(first, pool.pop(0))
    round_ = [c for c in _round_order(eligible, month, past) if c.id != first.id]
    while pool:
        for candidate in round_:
            if not pool:
                break
            month.give(candidate, _pick(candidate, pool, reserve, month, past))
        round_ = _round_order([c for c in eligible if month.wants(c)], month, past)
        if not round_:  # cannot happen: the pool never holds more than the demand left
            break
    return month.pairs


class _Month:
    """What each eligible executive has received so far this month."""

    def __init__(self, eligible: Iterable[Candidate]) -> None:
        self.pairs: list[tuple[int, int]] = []
        self.count = {c.id: 0 for c in eligible}
        self.quota = {c.id: c.quota for c in eligible}
        self.load = dict.fromkeys(self.count, 0.0)
        self.topics: dict[int, set[str]] = {c: set() for c in self.count}

    def give(self, candidate: Candidate, complaint: Complaint) -> None:
        self.pairs.append((complaint.id, candidate.id))
        self.count[candidate.id] += 1
        self.load[candidate.id] += complaint.severity
        if complaint.topic is not None:
            self.topics[candidate.id].add(complaint.topic)

    def wants(self, candidate: Candidate) -> bool:
        return self.count[candidate.id] < self.quota[candidate.id]

    def repeats(self, candidate: Candidate, complaint: Complaint) -> bool:
        """Whether the complaint's topic is one the executive already has this month."""
        return complaint.topic is not None and complaint.topic in self.topics[candidate.id]


def _hardest_key(candidate: Candidate, past: Past) -> tuple[int, bool, float, int]:
    return (
        past.hardest.get(candidate.id, 0),
        candidate.id == past.last_hardest,
        past.load.get(candidate.id, 0.0),
        candidate.id,
    )


def _round_order(candidates: Iterable[Candidate], month: _Month, past: Past) -> list[Candidate]:
    return sorted(
        candidates,
        key=lambda c: (
            past.load.get(c.id, 0.0) + month.load[c.id],
            past.hardest.get(c.id, 0),
            c.id,
        ),
    )


def _pick(
    candidate: Candidate,
    pool: list[Complaint],
    reserve: list[Complaint],
    month: _Month,
    past: Past,
) -> Complaint:
    """Remove and return the complaint this executive takes (step 5 of the algorithm)."""
    if all(month.repeats(candidate, x) for x in pool):
        swap = next((x for x in reserve if not month.repeats(candidate, x)), None)
        if swap is not None:
            reserve.remove(swap)
            insort(reserve, pool.pop(), key=rank)
            return swap
    seen = past.topics.get(candidate.id, {})

    def preference(x: Complaint) -> tuple[bool, int, bool, float, int]:
        home = x.topic in candidate.topics or x.department in candidate.departments
        times = seen.get(x.topic, 0) if x.topic is not None else 0
        return (month.repeats(candidate, x), times, not home, -x.severity, x.id)

    choice = min(pool, key=preference)
    pool.remove(choice)
    return choice


def _validate(complaints: list[Complaint], candidates: list[Candidate]) -> None:
    if len({c.id for c in complaints}) != len(complaints):
        raise ValueError("duplicate complaint id")
    if len({c.id for c in candidates}) != len(candidates):
        raise ValueError("duplicate executive id")
    if any(math.isnan(c.severity) for c in complaints):
        raise ValueError("complaint severity is NaN")
    if any(c.quota < 0 for c in candidates):
        raise ValueError("negative quota")
