"""Keeping the catalogs in step with the code: Babel's extract over dispatch's Python and
the staff page templates, merged into every dispatch/locales/<lang>/LC_MESSAGES/messages.po.

    .venv/bin/python -m dispatch.locales.catalog          # add new msgids, mark gone ones
    .venv/bin/python -m dispatch.locales.catalog --check  # exit 1 if any is untranslated

New msgids arrive with an empty msgstr for a translator; the suite fails until they are
filled (tests/dispatch/test_korean_staff_catalog.py). The app never imports this module.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

DISPATCH = Path(__file__).resolve().parent.parent
LOCALES = Path(__file__).resolve().parent
METHODS = [
    ("pages/templates/**.html", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
OPTIONS = {"pages/templates/**.html": {"extensions": "jinja2.ext.i18n", "silent": "false"}}
# Babel's own keywords (_, gettext, ngettext, N_ ...) and dispatch's locale-first helpers.
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "translate": (2,),
    "translate_plural": (2, 3),
    "page_text": (2,),
    "_done": (2,),  # dispatch/pages/admin.py's flash messages
}


def extract() -> Catalog:
    """Every msgid the code and the templates use, with where each is used."""
    template = Catalog(project="dutyline", fuzzy=False)
    found = extract_from_dir(
        str(DISPATCH), METHODS, OPTIONS, KEYWORDS, comment_tags=("Translators:",)
    )
    for filename, lineno, message, comments, context in found:
        template.add(
            message, None, [(f"dispatch/{filename}", lineno)], auto_comments=comments,
            context=context,
        )  # fmt: skip
    return template


def catalogs() -> list[Path]:
    return sorted(LOCALES.glob("*/LC_MESSAGES/messages.po"))


def read(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=path.parent.parent.name)


def missing(catalog: Catalog, template: Catalog) -> list[str]:
    """The template's msgids that `catalog` lacks or leaves untranslated or fuzzy."""
    gaps = []
    for message in template:
        if not message.id:
            continue
        have = catalog.get(message.id, context=message.context)
        strings = (
            (have.string if isinstance(have.string, tuple) else (have.string,)) if have else ()
        )
        if have is None or have.fuzzy or not strings or not all(strings):
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


def update() -> None:
    template = extract()
    for path in catalogs():
        catalog = read(path)
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as out:
            write_po(out, catalog, width=100, omit_header=False, ignore_obsolete=True)
        print(f"{path}: {len(missing(catalog, template))} to translate")


def main(argv: list[str]) -> int:
    if "--check" not in argv:
        update()
        return 0
    template = extract()
    gaps = {path: missing(read(path), template) for path in catalogs()}
    for path, ids in gaps.items():
        for msgid in ids:
            print(f"{path}: untranslated: {msgid!r}")
    return 1 if any(gaps.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
