"""Places heard right, measured in every run (issue 9 item 6a): every place answer of
data/sample_calls/riverton_places.yaml in three caller voices, through the 8 kHz mu-law
line, the configured recognizer with its place hints, and the city's geocoder
(callbench/place_bench.py, the code of `dutyline bench places`). The figures go to the
run's summary; the floors below fail the run when places get worse.

Also: the calls file is what its seeded generator writes (so its places are the random
draw it claims to be), and the checks that judge an answer judge right.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from callbench import make_place_calls, place_bench
from callbench.calls import load_calls
from callbench.place_checks import ExpectedPlace, check_candidate, check_ticket, metres
from dutyline.settings import ROOT, Settings

CALLS_FILE = ROOT / "data" / "sample_calls" / "riverton_places.yaml"
VOICES = ("flite:slt", "espeak:en-us", "flite:rms")

# Floors: just under what whisper:tiny.en with the place hints, a beam of 3 and rescoring
# against the city's names (voice/place_rescoring.py), then the geocoder, measured over
# these 150 answers on 2026-12-07 (street 0.767, house number 0.689, within 50 m 0.74; the
# prompt alone gave 0.653 / 0.578 / 0.633 on 2026-12-07 before the change). The same audio
# and code give the same figures, so a drop is a change, not noise; the floors allow a
# couple of answers either way. Raise them as places improve; the target for the
# street is 0.90.
FLOOR_STREET = 0.75
FLOOR_NUMBER = 0.66
FLOOR_WITHIN_50M = 0.72


# --- the calls file -----------------------------------------------------------------------


def test_the_place_calls_are_the_seeded_random_draw() -> None:
    city = make_place_calls.read_city()
    departments = make_place_calls.kinds(ROOT / "data" / "complaint_kinds.yaml")
    data = make_place_calls.generate(city, departments)
    assert make_place_calls.render(data) == CALLS_FILE.read_text("utf-8"), (
        "data/sample_calls/riverton_places.yaml is not what `python -m "
        "callbench.make_place_calls` writes; regenerate it, never edit it by hand"
    )
    other = make_place_calls.generate(city, departments, seed=make_place_calls.SEED + 1)
    assert [c["says"] for c in other["calls"]] != [c["says"] for c in data["calls"]]


def test_the_place_calls_mix_places_and_kinds() -> None:
    calls = load_calls(CALLS_FILE)
    assert len(calls) >= 45
    places = [c.place.kind for c in calls if c.place]
    assert len(places) == len(calls)
    shares = {kind: places.count(kind) / len(places) for kind in set(places)}
    assert shares["address"] == pytest.approx(0.6, abs=0.05)
    assert shares["intersection"] == pytest.approx(0.2, abs=0.05)
    assert shares["landmark"] == pytest.approx(0.1, abs=0.05)
    assert shares["block"] == pytest.approx(0.1, abs=0.05)
    kinds = make_place_calls.kinds(ROOT / "data" / "complaint_kinds.yaml")
    per_kind = [sum(c.kind == kind for c in calls) for kind in kinds]
    assert min(per_kind) >= len(calls) // len(kinds) - 1  # every kind gets its share
    assert all(c.department == kinds[c.kind] for c in calls)
    for call in calls:
        assert call.place_turn == 1 and call.place is not None
        said = call.says[call.place_turn].lower()
        assert all(name.lower() in said for name in call.place.names), call.name


def test_each_true_place_is_on_the_city_data() -> None:
    """The truth is the raw data's: an address point, a block's middle, a corner on both
    streets' geometry, a landmark node."""
    city = make_place_calls.read_city()
    points = {(p.street, p.number): p for p in city.points}
    corners = {c.streets: c for c in city.corners}
    for call in load_calls(CALLS_FILE):
        place = call.place
        assert place is not None
        if place.kind == "address":
            point = points[(place.street, place.number)]
            assert (point.lat, point.long) == (place.lat, place.long)
        elif place.kind == "intersection":
            corner = corners[tuple(sorted((place.street, place.cross_street)))]
            assert metres(corner.lat, corner.long, place.lat, place.long) < 1
        elif place.kind == "landmark":
            assert place.landmark in {poi.name for poi in city.pois}
        else:
            on_street = [p for (street, _), p in points.items() if street == place.street]
            assert min(metres(p.lat, p.long, place.lat, place.long) for p in on_street) < 100


# --- the checks ---------------------------------------------------------------------------


def _candidate(label: str, street: str | None, number: str | None, lat: float, long: float):
    return SimpleNamespace(label=label, street=street, number=number, lat=lat, long=long)


def test_an_answer_is_judged_on_street_number_and_distance() -> None:
    lark = ExpectedPlace("address", 42.65, -73.75, street="Lark Street", number="1718")
    right = check_candidate(
        lark, _candidate("1718 Lark Street", "Lark Street", "1718", 42.65, -73.75)
    )
    assert (right.street_right, right.number_right, right.within_50m) == (True, True, True)
    # A look-alike street with the right number is a miss, however close it is.
    near = check_candidate(
        lark, _candidate("1718 Park Street", "Park Street", "1718", 42.65, -73.75)
    )
    assert (near.street_right, near.number_right) == (False, True)
    far = check_candidate(
        lark, _candidate("1781 Lark Street", "Lark Street", "1781", 42.651, -73.75)
    )
    assert (far.street_right, far.number_right, far.within_50m) == (True, False, False)
    assert far.distance_m == pytest.approx(111, abs=1)
    nothing = check_candidate(lark, None)
    assert (nothing.street_right, nothing.number_right, nothing.within_50m) == (False, False, False)


def test_a_corner_needs_both_streets_and_a_landmark_its_name() -> None:
    corner = ExpectedPlace(
        "intersection", 42.6, -73.7, street="21st Street", cross_street="Lark Street"
    )
    both = _candidate("Lark Street and 21st Street", "Lark Street", None, 42.6, -73.7)
    one = _candidate("Lark Street and 22nd Street", "Lark Street", None, 42.6, -73.7)
    assert check_candidate(corner, both).street_right
    assert not check_candidate(corner, one).street_right
    assert check_candidate(corner, both).number_right is None
    hall = ExpectedPlace("landmark", 42.6, -73.7, landmark="City Hall")
    assert check_candidate(hall, _candidate("City Hall", None, None, 42.6, -73.7)).street_right
    assert not check_candidate(
        hall, _candidate("Civic Center", None, None, 42.6, -73.7)
    ).street_right


def test_a_ticket_is_judged_on_its_place_or_its_words() -> None:
    lark = ExpectedPlace("address", 42.65, -73.75, street="Lark Street", number="17")
    ticket = SimpleNamespace(
        place_name="17 Lark Street", location_normalized=None, location_text="17 lark st",
        lat=42.6501, long=-73.75,
    )  # fmt: skip
    verdict = check_ticket(lark, ticket)
    assert (verdict.street_right, verdict.number_right, verdict.within_50m) == (True, True, True)
    unverified = SimpleNamespace(
        place_name=None, location_normalized=None, location_text="170 Lark St", lat=None, long=None
    )
    verdict = check_ticket(lark, unverified)
    assert (verdict.street_right, verdict.number_right, verdict.within_50m) == (True, False, False)
    assert not check_ticket(lark, None).street_right


# --- the measurement ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def place_audio_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("place-audio")


@pytest.mark.slow
def test_places_are_heard_and_found(
    speech_settings: Settings,
    place_audio_cache: Path,
    record_figures: Callable[[str, object], None],
) -> None:
    started = time.monotonic()
    answers = place_bench.place_answers(load_calls(CALLS_FILE))
    transcriber = place_bench.load_transcriber(speech_settings)
    locator = place_bench.load_locator(speech_settings)
    hints = place_bench.place_hints(locator)
    assert hints, "no place hints: the recognizer would be measured without them"
    runs = place_bench.measure(
        answers, VOICES, transcriber=transcriber, locator=locator, hints=hints,
        cache=place_audio_cache,
    )  # fmt: skip
    result = place_bench.report(runs, VOICES)
    overall: dict[str, Any] = result["overall"]
    keys = ("street_right", "number_right", "within_50m", "recognition_p50_ms")
    keys += ("recognition_p95_ms",)
    figures = {
        voice: {key: value[key] for key in keys}
        for voice, value in [*result["by_voice"].items(), ("overall", overall)]
    }
    record_figures(
        f"places ({len(answers)} answers x {len(VOICES)} voices, {transcriber.name} + hints"
        f" + beam {transcriber.place_beam_size} + rescoring, "
        f"{time.monotonic() - started:.0f} s)",
        figures,
    )
    record_figures("places by kind", {k: v["street_right"] for k, v in result["by_kind"].items()})
    misses = [
        f"{r['voice']}: {r['said']!r} heard {r['heard']!r} -> {r['found']}"
        for r in result["rows"]
        if not r["verdict"]["street_right"]
    ]
    assert overall["answers"] == len(answers) * len(VOICES)
    assert overall["real_time_factor"] < 1, "place recognition is slower than real time"
    assert overall["street_right"] >= FLOOR_STREET, "\n".join(misses)
    assert overall["number_right"] >= FLOOR_NUMBER, "\n".join(misses)
    assert overall["within_50m"] >= FLOOR_WITHIN_50M, "\n".join(misses)
