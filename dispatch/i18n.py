"""The staff side in the city's language, a caller's texts in the call's.

Staff pages, officer texts and e-mails follow the city's locale (DUTYLINE_LOCALE); a
caller's SMS follows the locale of the line they called (the call record's). English is
the source language: its msgids are the texts, so "en" (and any locale without a
catalog) needs no catalog at all.

Catalogs are gettext .po files under dispatch/locales/<language>/LC_MESSAGES/, read
with Babel once per process and compiled in memory (no generated .mo to keep in step).
Names that live in data/ (departments, complaint kinds, their detail labels) carry their
translations beside them in the YAML (`names: {ko: ...}`, `labels: {ko: ...}`).
"""

from __future__ import annotations

import gettext as gettext_module
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from babel.dates import format_skeleton, get_timezone, get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger("dutyline.dispatch.i18n")

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"


def N_(message: str) -> str:
    """Marks a text for Babel's extract where it is defined; it is translated where it
    is shown (see `translate`), in the locale of whoever reads it."""
    return message


def language(locale: str | None) -> str:
    """'ko-KR', 'ko_KR', 'KO' -> 'ko'."""
    return (locale or SOURCE_LANGUAGE).replace("-", "_").split("_")[0].lower()


def catalog_path(locale: str) -> Path:
    return LOCALES_DIR / language(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str | None) -> gettext_module.NullTranslations:
    """The locale's translations (read once); English and unknown locales translate to
    themselves. Fuzzy entries are left out, as msgfmt does."""
    lang = language(locale)
    path = catalog_path(lang)
    if lang == SOURCE_LANGUAGE:
        return gettext_module.NullTranslations()
    if not path.is_file():
        log.warning("no catalog for locale %r (%s): texts stay in English", locale, path)
        return gettext_module.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=lang)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translate(locale: str | None, message: str) -> str:
    return translations(locale).gettext(message)


def translate_plural(locale: str | None, singular: str, plural: str, n: int) -> str:
    return translations(locale).ngettext(singular, plural, n)


def is_source(locale: str | None) -> bool:
    return language(locale) == SOURCE_LANGUAGE


# --- dates -------------------------------------------------------------------------------


def local_time(value: datetime | None, tz: ZoneInfo, locale: str | None) -> str:
    """A time in the city's time zone; the day too unless it is today. English keeps
    its "Mon 07 Dec 21:05"; other locales take the day from CLDR ("12월 7일 (월) 21:05")."""
    if value is None:
        return "—"
    local = value.astimezone(tz)
    if local.date() == datetime.now(tz).date():
        return local.strftime("%H:%M")
    return day_time(local, locale)


def day_time(local: datetime, locale: str | None) -> str:
    """A wall-clock time with its day: "Mon 07 Dec 21:05", "12월 7일 (월) 21:05"."""
    if is_source(locale):
        return local.strftime("%a %d %b %H:%M")
    day = format_skeleton("MMMEd", local, locale=language(locale))
    return f"{day} {local:%H:%M}"


def zone_name(zone: str, locale: str | None) -> str:
    """A time zone as a reader says it: English pages keep the tz name; others get
    CLDR's ("Asia/Seoul" -> "대한민국 시간")."""
    if is_source(locale):
        return zone
    try:
        return get_timezone_location(get_timezone(zone), locale=language(locale))
    except LookupError:
        return zone


def ago(value: datetime, locale: str | None) -> str:
    seconds = (datetime.now(UTC) - value).total_seconds()
    _ = translations(locale).gettext
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        return _("%(minutes)s min ago") % {"minutes": int(seconds // 60)}
    if seconds < 86400:
        return _("%(hours)s h %(minutes)s min ago") % {
            "hours": int(seconds // 3600),
            "minutes": int(seconds % 3600 // 60),
        }
    return _("%(days)s days ago") % {"days": int(seconds // 86400)}


# --- names from data/ --------------------------------------------------------------------


@dataclass(frozen=True)
class LocalNames:
    """Translations of the names data/ gives in English. A name is translated only while
    it is still data/'s English one: a department an admin renamed shows the new name."""

    departments: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    kinds: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    slots: dict[tuple[str, str], tuple[str, dict[str, str]]] = field(default_factory=dict)
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)  # English name: names

    def department(self, code: str | None, name: str, locale: str | None) -> str:
        return _pick(self.departments.get(code or ""), name, locale)

    def kind(self, code: str | None, name: str, locale: str | None) -> str:
        found = self.kinds.get(code or "")
        if found is None:  # a triage ticket has no kind: its name is a fixed English text
            return translate(locale, name)
        return _pick(found, name, locale)

    def named(self, name: str, locale: str | None) -> str:
        """A department's or kind's name where only the English name is at hand (a report's
        chart, grouped by name)."""
        for english, names in (*self.kinds.values(), *self.departments.values()):
            if english == name:
                return _pick((english, names), name, locale)
        return translate(locale, name)

    def contact(self, name: str, locale: str | None) -> str:
        """A department's fallback contact (a ticket's assignee when nobody is on shift)."""
        return _pick((name, self.contacts[name]), name, locale) if name in self.contacts else name

    def slot(self, kind: str | None, code: str, label: str, locale: str | None) -> str:
        """A detail's label; `label` may be the English label or, unlabelled, the code."""
        entry = self.slots.get((kind or "", code))
        if entry is not None and label == code and not is_source(locale):
            label = entry[0]
        return _pick(entry, label, locale)


def _pick(entry: tuple[str, dict[str, str]] | None, shown: str, locale: str | None) -> str:
    if entry is None or is_source(locale):
        return shown
    english, names = entry
    if shown != english:
        return shown
    return names.get(language(locale), shown)


@cache
def local_names(data_dir: Path) -> LocalNames:
    """Read data/departments.yaml and data/complaint_kinds.yaml's translations once."""
    data_dir = Path(data_dir)
    names = LocalNames()
    departments = _yaml(data_dir / "departments.yaml").get("departments") or {}
    for code, entry in departments.items():
        names.departments[code] = (entry.get("name", code), _strings(entry.get("names")))
        fallback = entry.get("fallback") or {}
        if fallback.get("name"):
            names.contacts[fallback["name"]] = _strings(fallback.get("names"))
    kinds = _yaml(data_dir / "complaint_kinds.yaml").get("kinds") or {}
    for code, entry in kinds.items():
        names.kinds[code] = (entry.get("name", code), _strings(entry.get("names")))
        for slot, spec in (entry.get("slots") or {}).items():
            english = spec.get("label", slot)
            names.slots[(code, slot)] = (english, _strings(spec.get("labels")))
    return names


def _yaml(path: Path) -> dict:
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _strings(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"translated names must be a mapping of locale to text, not {raw!r}")
    return {language(str(k)): str(v) for k, v in raw.items()}
