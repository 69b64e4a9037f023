"""The kit measured by mutants (issue 13): a default check catches every one, the engine none.

Marker ``mutants`` (deselected by default; ``.ci/run`` runs it in a step of its
own): ``pytest -m mutants tests/mutants``.  ``python -m tests.mutants`` prints
the kill table and what the random part alone catches.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import imspatch
from imspatch import GLANCE, IMS, Limits, conformance
from imspatch import strategies as ims_st
from imspatch.errors import ERROR_CODES

from ..test_conformance import CALLER_CODES, UNREACHABLE
from . import MUTANTS, Mutant, engine

pytestmark = pytest.mark.mutants

#: The kinds of bug issue 13 asks the suite to cover.
KINDS = {
    "limits", "request limits", "name classes", "dialects", "existence", "atomicity",
    "precedence", "lax JSON", "pointers", "media types", "status codes", "results",
}  # fmt: skip
SEEDS = (1, 2)


def test_there_are_at_least_40_mutants_of_every_kind() -> None:
    assert len(MUTANTS) >= 40
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    assert {m.kind for m in MUTANTS} >= KINDS


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_a_default_check_catches_the_mutant(mutant: Mutant, seed: int) -> None:
    with pytest.raises(conformance.NonConformance) as info:
        conformance.check(mutant.sut, rules=mutant.rules, admin=mutant.admin, seed=seed)
    assert info.value.mismatch.raised is None  # caught for its bug, not for crashing


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize(("rules", "admin"), [(IMS, False), (GLANCE, False), (GLANCE, True)])
def test_the_engine_passes(rules: imspatch.Rules, admin: bool, seed: int) -> None:
    def sut(media_type: str | None, body: bytes, image: dict[str, Any]) -> tuple[int, Any]:
        return engine(media_type, body, image, rules=rules, admin=admin)

    summary = conformance.check(sut, rules=rules, admin=admin, seed=seed)
    assert summary.examples == summary.swept + 200


#: Small limits: every 413 in a small body (the default body limit is 16 MiB).
SMALL_LIMITS = Limits(
    max_body_bytes=5000,
    max_operations=100,
    max_string_length=1000,
    max_pointer_length=500,
    max_members=50,
)


@pytest.mark.parametrize("rules", [IMS, GLANCE], ids=["ims", "glance"])
def test_labelled_errors_reach_every_code_a_request_can_produce(rules: imspatch.Rules) -> None:
    seen: Counter[str] = Counter()

    @settings(max_examples=1500, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(ims_st.labelled_errors(rules=rules, limits=SMALL_LIMITS))
    def draw(labelled: ims_st.Labelled) -> None:
        seen[labelled.code] += 1

    draw()
    assert set(seen) == set(ERROR_CODES) - CALLER_CODES - UNREACHABLE[rules.name, False]
