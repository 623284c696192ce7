"""The monthly assignment of complaints to executives: examples, then properties.

The properties are the guarantees listed in bot/assignment.py's docstring, checked on
random months and on twelve-month runs that carry `Past` forward.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.executives.assignment import Candidate, Complaint, Past, assign, rank

TOPIC_NAMES = ("billing", "delivery", "app", "staff")
TOPICS = (*TOPIC_NAMES, None)
DEPARTMENTS = {
    "billing": "finance",
    "delivery": "ops",
    "app": "product",
    "staff": "ops",
    None: None,
}
NOBODY = Past(hardest={}, topics={}, load={})
MODEST = settings(max_examples=100, deadline=None)


def c(id: int, severity: float, topic: str | None = None) -> Complaint:
    return Complaint(id, severity, topic, DEPARTMENTS[topic])


def received(pairs: list[tuple[int, int]]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for complaint, executive in pairs:
        out.setdefault(executive, []).append(complaint)
    return out


# Examples -------------------------------------------------------------------------


def test_the_worst_complaint_goes_to_whoever_has_had_it_least():
    alice, bob = Candidate(1, quota=1, away=False), Candidate(2, quota=1, away=False)
    past = Past(hardest={1: 0, 2: 3}, topics={}, load={1: 50.0, 2: 0.0})
    pairs = assign([c(10, 0.2), c(11, 0.9), c(12, 0.5)], [alice, bob], past)
    assert pairs[0] == (11, 1)  # Alice has had it less often, though her load is higher
    assert pairs[1] == (12, 2)  # Bob gets the next worst; 10 stays for next month


def test_everyone_gets_exactly_their_quota_when_there_is_enough():
    team = [Candidate(1, 3, False), Candidate(2, 1, False), Candidate(3, 2, False)]
    complaints = [c(i, float(i), TOPICS[i % 5]) for i in range(1, 21)]
    counts = Counter(executive for _, executive in assign(complaints, team, NOBODY))
    assert counts == {1: 3, 2: 1, 3: 2}


def test_nobody_away_or_with_quota_zero_gets_anything():
    team = [Candidate(1, 3, away=True), Candidate(2, 0, away=False), Candidate(3, 2, away=False)]
    pairs = assign([c(i, float(i)) for i in range(1, 6)], team, NOBODY)
    assert {executive for _, executive in pairs} == {3}
    assert assign([c(1, 1.0)], [Candidate(1, 3, away=True)], NOBODY) == []


def test_a_short_month_is_shared_round_robin():
    team = [Candidate(1, 5, False), Candidate(2, 1, False), Candidate(3, 2, False)]
    pairs = assign([c(i, float(i)) for i in range(1, 6)], team, NOBODY)
    # Round 1 gives everyone one; round 2 the two who want more. Nothing is left over.
    assert Counter(executive for _, executive in pairs) == {1: 2, 2: 1, 3: 2}


def test_a_slightly_less_severe_complaint_is_swapped_in_to_avoid_a_repeated_topic():
    pairs = assign(
        [c(1, 0.9, "billing"), c(2, 0.8, "billing"), c(3, 0.7, "delivery")],
        [Candidate(1, quota=2, away=False)],
        NOBODY,
    )
    assert pairs == [(1, 1), (3, 1)]  # the second billing complaint waits


def test_a_repeated_topic_only_when_nothing_else_remains():
    pairs = assign([c(1, 0.9, "billing"), c(2, 0.8, "billing")], [Candidate(1, 2, False)], NOBODY)
    assert pairs == [(1, 1), (2, 1)]


def test_topics_received_less_often_before_are_preferred():
    alice, bob = Candidate(1, 2, False), Candidate(2, 2, False)
    past = Past(
        hardest={1: 1},
        topics={1: {"billing": 5, "app": 2}},
        load={},
    )
    complaints = [c(1, 10, "delivery"), c(2, 8, "billing"), c(3, 6, "app"), c(4, 4, "staff")]
    assert assign(complaints, [alice, bob], past) == [
        (1, 2),  # Bob has never had the worst complaint
        (4, 1),  # Alice has never had "staff"
        (3, 1),  # she now has the lighter load, and has had "app" less than "billing"
        (2, 2),
    ]


def test_a_home_topic_or_department_comes_before_severity():
    finance = Candidate(1, 2, False, departments=frozenset({"finance"}))
    app = Candidate(2, 2, False, topics=frozenset({"app"}))
    past = Past(hardest={1: 1}, topics={}, load={1: 20.0})
    complaints = [c(1, 10, "staff"), c(2, 8, "delivery"), c(3, 6, "app"), c(4, 4, "billing")]
    assert assign(complaints, [finance, app], past) == [
        (1, 2),  # the worst complaint, to whoever has had it least
        (4, 1),  # billing belongs to finance: it comes before the more severe delivery
        (3, 2),  # app is the app executive's home topic
        (2, 1),
    ]


def test_the_worst_complaint_rotates_month_after_month():
    team = [Candidate(i, 1, False) for i in (1, 2, 3)]
    past, holders, next_id = NOBODY, [], 1
    for _ in range(6):
        month = [c(next_id + i, 1.0 + i) for i in range(3)]
        next_id += 3
        pairs = assign(month, team, past)
        holders.append(pairs[0][1])
        past = record(past, month, pairs)
    assert Counter(holders) == {1: 2, 2: 2, 3: 2}
    assert all(a != b for a, b in pairwise(holders))


def test_same_inputs_give_same_pairs():
    team = [Candidate(i, 2, False) for i in range(1, 5)]
    complaints = [c(i, float(i % 3), TOPICS[i % 5]) for i in range(1, 13)]
    shuffled = complaints[::-1]
    assert assign(complaints, team, NOBODY) == assign(shuffled, team[::-1], NOBODY)


@pytest.mark.parametrize(
    ("complaints", "team"),
    [
        ([c(1, 1.0), c(1, 2.0)], [Candidate(1, 1, False)]),
        ([c(1, 1.0)], [Candidate(1, 1, False), Candidate(1, 2, False)]),
        ([c(1, float("nan"))], [Candidate(1, 1, False)]),
        ([c(1, 1.0)], [Candidate(1, -1, False)]),
    ],
    ids=["duplicate complaint", "duplicate executive", "nan severity", "negative quota"],
)
def test_invalid_input_is_refused(complaints, team):
    with pytest.raises(ValueError):
        assign(complaints, team, NOBODY)


# Strategies ------------------------------------------------------------------------

# Small whole numbers make ties common; fractions make them rare.
severities = st.one_of(
    st.integers(0, 6).map(float), st.floats(0, 1, allow_nan=False, allow_infinity=False)
)


@st.composite
def complaint_lists(draw: st.DrawFn, first_id: int = 1, max_size: int = 60) -> list[Complaint]:
    rows = draw(st.lists(st.tuples(severities, st.sampled_from(TOPICS)), max_size=max_size))
    ids = draw(st.permutations(range(first_id, first_id + len(rows))))
    return [c(i, severity, topic) for i, (severity, topic) in zip(ids, rows, strict=True)]


QUOTAS = st.integers(0, 5)
SOMETIMES_AWAY = st.sampled_from([False, False, False, True])


@st.composite
def candidate_lists(
    draw: st.DrawFn,
    min_size: int = 0,
    quotas: st.SearchStrategy[int] = QUOTAS,
    away: st.SearchStrategy[bool] = SOMETIMES_AWAY,
) -> list[Candidate]:
    ids = draw(st.lists(st.integers(1, 99), min_size=min_size, max_size=8, unique=True))
    return [
        Candidate(
            i,
            draw(quotas),
            draw(away),
            frozenset(draw(st.sets(st.sampled_from(TOPIC_NAMES), max_size=2))),
            frozenset(draw(st.sets(st.sampled_from(["finance", "ops", "product"]), max_size=1))),
        )
        for i in ids
    ]


@st.composite
def pasts(draw: st.DrawFn, ids: list[int]) -> Past:
    counts = st.integers(0, 4)
    return Past(
        hardest={i: draw(counts) for i in ids},
        topics={i: draw(st.dictionaries(st.sampled_from(TOPIC_NAMES), counts)) for i in ids},
        load={i: draw(st.floats(0, 40, allow_nan=False)) for i in ids},
        last_hardest=draw(st.sampled_from([None, *ids])),
    )


@st.composite
def months(draw: st.DrawFn) -> tuple[list[Complaint], list[Candidate], Past]:
    candidates = draw(candidate_lists())
    return draw(complaint_lists()), candidates, draw(pasts([x.id for x in candidates]))


# What a month must satisfy -----------------------------------------------------------


def record(past: Past, complaints: list[Complaint], pairs: list[tuple[int, int]]) -> Past:
    """Past after this month: what the monthly job would read back from the database."""
    by_id = {x.id: x for x in complaints}
    hardest, load = dict(past.hardest), dict(past.load)
    topics = {executive: dict(seen) for executive, seen in past.topics.items()}
    last = past.last_hardest
    if pairs:
        _, last = min(pairs, key=lambda pair: rank(by_id[pair[0]]))
        hardest[last] = hardest.get(last, 0) + 1
    for complaint_id, executive in pairs:
        complaint = by_id[complaint_id]
        load[executive] = load.get(executive, 0.0) + complaint.severity
        if complaint.topic is not None:
            seen = topics.setdefault(executive, {})
            seen[complaint.topic] = seen.get(complaint.topic, 0) + 1
    return Past(hardest, topics, load, last)


def check_month(
    complaints: list[Complaint],
    candidates: list[Candidate],
    past: Past,
    pairs: list[tuple[int, int]],
) -> None:
    by_id = {x.id: x for x in complaints}
    eligible = {x.id: x for x in candidates if not x.away and x.quota > 0}
    demand = sum(x.quota for x in eligible.values())
    given = [complaint for complaint, _ in pairs]
    mine = received(pairs)
    counts = {executive: len(mine.get(executive, [])) for executive in eligible}

    # 1. Only complaints passed in, each at most once.
    assert len(given) == len(set(given))
    assert set(given) <= set(by_id)

    # 2. Nothing for anyone away or with quota 0; quotas exactly when supply suffices,
    #    otherwise everything is given out round-robin without exceeding any quota.
    assert set(mine) <= set(eligible)
    if len(complaints) >= demand:
        assert counts == {i: x.quota for i, x in eligible.items()}
    else:
        assert len(given) == len(complaints)
        for i, x in eligible.items():
            assert counts[i] <= x.quota
            if counts[i] < x.quota:
                assert all(n <= counts[i] + 1 for n in counts.values())

    # 3. Most severe first: the right number, the worst one among them, and the top
    #    len(given) complaints except for swaps. A swapped-in complaint (assigned but not
    #    in the top) went to an executive who already had, this month, the topic of every
    #    more severe complaint left unassigned. A top complaint left out was dropped at
    #    some pick of a topic new to that executive (a swap), when it had a topic they
    #    already had and every top complaint picked later was more severe.
    assert len(given) == (min(len(complaints), demand) if eligible else 0)
    if pairs:
        worst = min(complaints, key=rank)
        assert pairs[0][0] == worst.id
        expected = min(
            eligible.values(),
            key=lambda x: (
                past.hardest.get(x.id, 0),
                x.id == past.last_hardest,
                past.load.get(x.id, 0.0),
                x.id,
            ),
        )
        assert pairs[0][1] == expected.id
    top = {x.id for x in sorted(complaints, key=rank)[: len(given)]}
    left = [by_id[i] for i in set(by_id) - set(given)]
    swapped_in = [(i, executive) for i, executive in pairs if i not in top]
    for complaint_id, executive in swapped_in:
        a = by_id[complaint_id]
        others = {by_id[i].topic for i in mine[executive] if i != complaint_id}
        for u in left:
            if rank(u) < rank(a):
                assert u.topic is not None and u.topic in others
    top_topics = [by_id[i].topic for i in top if by_id[i].topic is not None]
    if len(top_topics) == len(set(top_topics)):
        assert not swapped_in
    held_before = [
        (i, {by_id[j].topic for j, f in pairs[:p] if f == executive} - {None})
        for p, (i, executive) in enumerate(pairs)
    ]
    for u in left:
        if u.id in top:
            assert u.topic is not None
            assert any(
                u.topic in had and by_id[swap].topic not in had
                for p, (swap, had) in enumerate(held_before)
                if all(rank(by_id[i]) < rank(u) for i, _ in pairs[p + 1 :] if i in top)
            )

    # 5. Topics spread: a repeat only if nothing else was left; so with enough topics
    #    in plentiful supply (each at least the month's demand), no repeat at all.
    plentiful = sum(
        1 for n in Counter(x.topic for x in complaints if x.topic).values() if n >= demand
    )
    for executive, ids in mine.items():
        topics = [by_id[i].topic for i in ids if by_id[i].topic is not None]
        if len(topics) != len(set(topics)):
            assert all(u.topic in topics for u in left)
            assert plentiful < eligible[executive].quota


# Properties ---------------------------------------------------------------------------


@MODEST
@given(months(), st.data())
def test_any_month(month, data):
    complaints, candidates, past = month
    pairs = assign(complaints, candidates, past)
    check_month(complaints, candidates, past, pairs)
    # 6. Deterministic, whatever order the lists come in.
    again = assign(
        data.draw(st.permutations(complaints)), data.draw(st.permutations(candidates)), past
    )
    assert again == pairs


@MODEST
@given(candidate_lists(), st.data())
def test_twelve_months_carrying_past_forward(team, data):
    past, pool, next_id, ever = NOBODY, [], 1, set()
    for _ in range(12):
        new = data.draw(complaint_lists(first_id=next_id, max_size=15))
        next_id += len(new)
        pool = pool + new
        # Who is away changes from month to month.
        this_month = [
            Candidate(x.id, x.quota, data.draw(st.booleans()), x.topics, x.departments)
            for x in team
        ]
        pairs = assign(pool, this_month, past)
        check_month(pool, this_month, past, pairs)
        given = {complaint for complaint, _ in pairs}
        assert not given & ever  # never assigned in an earlier month
        ever |= given
        past = record(past, pool, pairs)
        pool = [x for x in pool if x.id not in given]


@MODEST
@given(candidate_lists(min_size=1, quotas=st.integers(1, 5), away=st.just(False)), st.data())
def test_the_worst_complaint_rotates_fairly(team, data):
    """Equal quotas are a special case: any positive quotas, nobody away, rotate fairly."""
    past, pool, next_id, holders = NOBODY, [], 1, []
    for _ in range(12):
        new = data.draw(complaint_lists(first_id=next_id, max_size=20))
        next_id += len(new)
        pool = pool + new
        pairs = assign(pool, team, past)
        if pairs:
            holders.append(pairs[0][1])
        past = record(past, pool, pairs)
        given = {complaint for complaint, _ in pairs}
        pool = [x for x in pool if x.id not in given]

        counts = [past.hardest.get(x.id, 0) for x in team]
        assert max(counts) - min(counts) <= 1
    if len(team) >= 2:
        assert all(a != b for a, b in pairwise(holders))
