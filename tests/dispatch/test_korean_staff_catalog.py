"""The Korean catalog keeps up with the code: Babel's extract over the staff templates and
dispatch's Python finds every msgid, and each has a Korean translation with the same
placeholders; a template's visible text outside gettext fails too. So a new English
string without Korean fails the suite."""

from __future__ import annotations

from pathlib import Path

import yaml
from babel.messages.catalog import Catalog

from dispatch import i18n
from dispatch.kinds import TRIAGE_KIND_NAME
from dispatch.labels import OUTCOME_LABELS
from dispatch.locales import catalog
from dispatch.models import CLOSE_REASON_LABELS, STATUS_LABELS
from dispatch.pages.common import EVENT_LABELS, templates
from dispatch.pages.place_maps import KIND_LABELS
from dutyline.settings import ROOT
from tests.dispatch.test_korean_staff_pages import english_words

KO_PO = ROOT / "dispatch" / "locales" / "ko" / "LC_MESSAGES" / "messages.po"
TEMPLATES = ROOT / "dispatch" / "pages" / "templates"


def extracted() -> Catalog:
    return catalog.extract()


def test_every_msgid_of_the_templates_and_code_has_korean() -> None:
    template = extracted()
    where = {loc[0] for message in template for loc in message.locations}
    # The extract reaches the templates and the Python texts, not just one of them.
    assert {"dispatch/pages/templates/ticket.html", "dispatch/outbox_texts.py"} <= where
    assert "dispatch/caller_sms.py" in where and "dispatch/pages/calls.py" in where
    assert len(template) > 250
    ko = catalog.read(KO_PO)
    assert catalog.missing(ko, template) == []
    # Placeholders agree (Babel's python-format check): a "%(number)s" the English fills
    # must be in the Korean too, or the text would raise or lose the number.
    problems = [(m.id, errors) for m, errors in ko.check() if errors]
    assert problems == []


def test_a_new_english_string_without_korean_is_caught() -> None:
    template = extracted()
    template.add("A brand-new button", locations=[("dispatch/pages/templates/x.html", 1)])
    assert catalog.missing(catalog.read(KO_PO), template) == ["A brand-new button"]


def test_words_the_pages_look_up_by_code_are_marked_for_translation() -> None:
    """Status, close-reason, outcome, event and place words live in dicts the pages read
    by code; each must be a msgid the extract finds."""
    ids = {m.id for m in extracted() if m.id}
    words = [
        *STATUS_LABELS.values(),
        *CLOSE_REASON_LABELS.values(),
        *OUTCOME_LABELS.values(),
        *EVENT_LABELS.values(),
        *KIND_LABELS.values(),
        TRIAGE_KIND_NAME,
    ]
    assert [w for w in words if w not in ids] == []
    assert all(i18n.translate("ko", w) != w for w in words)


def test_no_template_shows_english_outside_gettext() -> None:
    """Text between the template's tags (and placeholders, titles, labels) must come
    from _() or carry translate="no"; expressions stand in as codes."""
    env = templates.env
    found = {}
    for path in sorted(TEMPLATES.glob("*.html")):
        parts = []
        for _, token, value in env.lex(path.read_text(encoding="utf-8")):
            if token == "data":
                parts.append(value)
            elif token in ("variable_begin", "block_begin"):
                parts.append(" 0 ")
        words = english_words("".join(parts), set())
        if words:
            found[path.name] = words
    assert found == {}


def test_korean_names_of_kinds_and_departments() -> None:
    """data/ names every department and kind in Korean, and the kinds' names and detail
    labels are the ones the Korean dialogue speaks (nlu/locales/ko)."""
    names = i18n.local_names(ROOT / "data")
    for code, (english, local) in names.departments.items():
        assert local.get("ko"), code
        assert names.department(code, english, "ko") == local["ko"]
        assert names.department(code, english, "en") == english
    spoken = yaml.safe_load((ROOT / "nlu/locales/ko/complaint_kinds.yaml").read_text())["kinds"]
    for code, (english, _local) in names.kinds.items():
        assert names.kind(code, english, "ko") == spoken[code]["name"], code
        for slot, spec in spoken[code]["slots"].items():
            label = names.slots[(code, slot)][0]
            assert names.slot(code, slot, label, "ko") == spec["label"], (code, slot)
    # A department an admin renamed keeps the new name in every language.
    assert names.department("parking", "Parking (night)", "ko") == "Parking (night)"


def test_korean_dates_and_unknown_locales(tmp_path: Path) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    seoul = ZoneInfo("Asia/Seoul")
    monday = datetime(2026, 12, 7, 12, 5, tzinfo=UTC)  # 21:05 in Seoul
    assert i18n.day_time(monday.astimezone(seoul), "ko") == "12월 7일 (월) 21:05"
    assert i18n.day_time(monday.astimezone(seoul), "en") == "Mon 07 Dec 21:05"
    assert i18n.day_time(monday.astimezone(seoul), "ko-KR") == "12월 7일 (월) 21:05"
    # A locale without a catalog keeps English rather than failing a page.
    assert i18n.translate("fr", "Inbox") == "Inbox"
    assert i18n.translate("ko", "Inbox") == "민원함"
