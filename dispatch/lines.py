"""The line's phone numbers: which locale answers each and which city's places it knows.

One deployment answers several numbers (data/lines.yaml, `DUTYLINE_LINES`): an English
number for Riverton and a Korean one for Gwangju, side by side. The webhook picks the line
by Twilio's `To`; a number the file does not list (or a call without `To`) gets the first
line, logged, so a misconfigured number still reaches a person's complaint.

A deployment that only sets the older single-line settings (`DUTYLINE_LOCALE`,
`DUTYLINE_PLACES_CITY`/`_FILES`/`_ALIASES`) keeps one line built from them: when
`DUTYLINE_LINES` is set empty, or is not set and either the file is missing or any
`DUTYLINE_PLACES_*` is set.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dispatch.places.importer import PlaceSource
from dispatch.settings import DispatchSettings

log = logging.getLogger("dutyline.dispatch.lines")

_LOCALE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
_LEGACY_FIELDS = ("places_city", "places_files", "places_aliases")


class LinesError(ValueError):
    """The lines file cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Line:
    number: str  # E.164 as Twilio sends `To`: "+15555550100"; "" for a single-line deployment
    locale: str  # the dialogue's and recognizer's language: "en", "ko"
    city: str  # the imported city whose places callers name
    name: str  # for people: logs, the status page


@dataclass(frozen=True)
class CityFiles:
    """A city's place files, imported by set-up and start-up when the database lacks them."""

    name: str
    files: tuple[Path, ...]
    aliases: Path | None = None

    def source(self) -> PlaceSource:
        return PlaceSource(self.name, self.files, self.aliases)


def normalized_number(number: str | None) -> str:
    """'+1 (555) 555-0100' -> '+15555550100': Twilio's `To` is E.164, a file may be spaced."""
    if not number:
        return ""
    digits = re.sub(r"\D", "", number)
    return f"+{digits}" if digits else ""


class Lines:
    def __init__(self, lines: Collection[Line], cities: Collection[CityFiles]) -> None:
        if not lines:
            raise LinesError("no line: at least one number with its locale and city is needed")
        self.lines: tuple[Line, ...] = tuple(lines)
        self._cities = {city.name: city for city in cities}
        self._by_number = {normalized_number(line.number): line for line in self.lines}

    @property
    def default(self) -> Line:
        """The first line: unknown numbers and calls without `To` get it."""
        return self.lines[0]

    def for_number(self, called: str | None) -> Line:
        line = self._by_number.get(normalized_number(called)) if called else None
        if line is None:
            if len(self.lines) > 1:
                log.warning(
                    "called number %r is not a line of this deployment: answered as %s (%s)",
                    called or "",
                    self.default.name,
                    self.default.locale,
                )
            return self.default
        return line

    @property
    def locales(self) -> tuple[str, ...]:
        """Every locale a line uses, the first line's first."""
        return tuple(dict.fromkeys(line.locale for line in self.lines))

    @property
    def cities(self) -> tuple[CityFiles, ...]:
        """Every city a line uses, the first line's first."""
        names = dict.fromkeys(line.city for line in self.lines)
        return tuple(self._cities[name] for name in names)

    def city(self, name: str) -> CityFiles:
        return self._cities[name]

    def city_of_locale(self, locale: str) -> str:
        """The city of the first line in that locale (else the first line's)."""
        found = next((line for line in self.lines if line.locale == locale), self.default)
        return found.city

    def check_locales(self, known: Collection[str], where: str = "the lines") -> None:
        """Every line's locale has a dialogue project (the composition root passes them)."""
        for line in self.lines:
            if line.locale not in known:
                raise LinesError(
                    f"{where}: line {line.name!r} ({line.number}) has locale {line.locale!r}, "
                    f"which has no Rasa project (nlu/locales/{line.locale}/); known: "
                    f"{', '.join(sorted(known))}"
                )


# --- the file ------------------------------------------------------------------------------


class _LineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str
    locale: str
    city: str
    name: str = ""

    @field_validator("number")
    @classmethod
    def _e164(cls, value: str) -> str:
        number = normalized_number(value)
        if not 8 <= len(number) <= 16 or not value.strip().startswith("+"):
            raise ValueError(f"{value!r} is not a phone number in E.164 (+ and 7-15 digits)")
        return number

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if not _LOCALE.match(value):
            raise ValueError(f"{value!r} is not a locale code such as en or ko")
        return value


class _CityEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: list[Path] = Field(min_length=1)
    aliases: Path | None = None


class _LinesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[_LineEntry] = Field(min_length=1)
    cities: dict[str, _CityEntry] = Field(default_factory=dict)


def load_lines(path: Path, data_dir: Path) -> Lines:
    """The lines of a YAML file; relative place paths are in data_dir. LinesError when the
    file is unreadable, a field is wrong, a number is listed twice or a city is unknown."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LinesError(f"{path}: cannot read the lines: {exc}") from exc
    try:
        parsed = _LinesFile.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors()
        )
        raise LinesError(f"{path}: {problems}") from None
    seen: dict[str, int] = {}
    for index, entry in enumerate(parsed.lines, start=1):
        if entry.number in seen:
            raise LinesError(
                f"{path}: number {entry.number} is listed twice (lines {seen[entry.number]} "
                f"and {index}): each number answers in one locale"
            )
        seen[entry.number] = index
        if entry.city not in parsed.cities:
            raise LinesError(
                f"{path}: line {index} ({entry.number}) names city {entry.city!r}, which is "
                f"not under cities: ({', '.join(parsed.cities) or 'none'})"
            )
    lines = [
        Line(e.number, e.locale, e.city, e.name or f"{e.city} ({e.locale})") for e in parsed.lines
    ]
    cities = [
        CityFiles(
            name,
            tuple(_in(data_dir, f) for f in entry.files),
            _in(data_dir, entry.aliases) if entry.aliases else None,
        )
        for name, entry in parsed.cities.items()
    ]
    return Lines(lines, cities)


def _in(data_dir: Path, path: Path) -> Path:
    return path if path.is_absolute() else Path(data_dir) / path


def single_line(settings: DispatchSettings) -> Lines:
    """The one line of a deployment configured with the older settings."""
    city = CityFiles(
        settings.places_city, tuple(settings.places_paths), settings.places_aliases_path
    )
    line = Line("", settings.locale, city.name, f"{city.name} ({settings.locale})")
    return Lines([line], [city])


def lines_path(settings: DispatchSettings) -> Path | None:
    """The lines file to read, or None for the single line of the older settings."""
    if settings.lines is None:
        return None
    path = _in(settings.data_dir, settings.lines)
    if "lines" in settings.model_fields_set:
        return path  # asked for by name: a missing file is an error, not a fallback
    if any(name in settings.model_fields_set for name in _LEGACY_FIELDS) or not path.is_file():
        return None
    return path


_CACHE: dict[object, Lines] = {}
_CACHE_LOCK = threading.Lock()


def lines_of(settings: DispatchSettings) -> Lines:
    """The deployment's lines, read once per file version (cheap to call per request)."""
    path = lines_path(settings)
    if path is None:
        return single_line(settings)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise LinesError(f"{path}: cannot read the lines (DUTYLINE_LINES): {exc}") from exc
    key = (str(path.resolve()), stamp, str(settings.data_dir))
    with _CACHE_LOCK:
        found = _CACHE.get(key)
    if found is None:
        found = load_lines(path, settings.data_dir)
        with _CACHE_LOCK:
            _CACHE[key] = found
    return found
