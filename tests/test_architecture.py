"""The shape docs/architecture.md promises, read from the code's own imports (ast).

Dependencies point one way, voice -> nlu -> dispatch, and nothing in those three imports
the composition root (dutyline/) or the tools (callbench/); no two modules import each
other, however indirectly; no module is over 400 lines (migrations aside). Imports inside
functions count (a lazy import is still a dependency), and so do `if TYPE_CHECKING:` ones
for cycles (two modules that must each know the other's types are one concern split in two).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dutyline", "voice", "nlu", "dispatch")
# Each package and the packages it must never import.
FORBIDDEN = {
    "dispatch": {"nlu", "voice", "dutyline", "callbench"},
    "nlu": {"voice", "dutyline", "callbench"},
    "voice": {"dutyline", "callbench"},
    "dutyline": set(),
}
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.is_relative_to(ROOT / "dispatch" / "migrations" / "versions"):
                continue  # Alembic revisions: each imports only alembic and sqlalchemy
            found[_module_name(path)] = path
    return found


SOURCES = _sources()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST, *, with_typing: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node) and not with_typing:
            for other in node.orelse:
                yield from _import_nodes(ast.Module([other], []), with_typing=with_typing)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _import_nodes(node, with_typing=with_typing)


def imports_of(module: str, *, with_typing: bool = False) -> dict[str, int]:
    """The modules `module` imports (our own resolved to modules, others by top name): line.

    `with_typing`: also the imports made only for type checkers (`if TYPE_CHECKING:`).
    """
    path = SOURCES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: dict[str, int] = {}
    for node in _import_nodes(tree, with_typing=with_typing):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name, node.lineno)
            continue
        base = node.module or ""
        if node.level:  # relative: from the module's own package upwards
            anchor = module.split(".")
            anchor = anchor if is_package else anchor[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            # `from voice import prompts` imports the module voice.prompts
            found.setdefault(candidate if candidate in SOURCES else base, node.lineno)
    return found


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def test_no_package_imports_upwards_or_the_root_or_the_tools() -> None:
    wrong = [
        f"{SOURCES[module].relative_to(ROOT)}:{line} imports {target}"
        for module in SOURCES
        for target, line in imports_of(module, with_typing=True).items()
        if _top(target) in FORBIDDEN[_top(module)]
    ]
    assert wrong == [], "imports against voice -> nlu -> dispatch:\n" + "\n".join(wrong)


# The web layer of dispatch/: only the list of routes and other page modules may import it,
# so the work itself (filing, hand-over, the duty log...) never depends on a page.
WEB_MODULES = ("dispatch.pages", "dispatch.webhooks.pages")
WEB_IMPORTERS = ("dispatch.routes", *WEB_MODULES)


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_dispatchs_core_does_not_import_its_pages() -> None:
    wrong = [
        f"{SOURCES[module].relative_to(ROOT)}:{line} imports {target}"
        for module in SOURCES
        if _top(module) == "dispatch" and not _in(module, WEB_IMPORTERS)
        for target, line in imports_of(module, with_typing=True).items()
        if _in(target, WEB_MODULES)
    ]
    assert wrong == [], "dispatch's core importing its pages:\n" + "\n".join(wrong)


def test_the_app_factory_does_not_import_the_tools() -> None:
    # Transitively, at run time: whatever dutyline.app pulls in must leave callbench out.
    program = (
        "import sys, dutyline.app; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'callbench'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert "callbench" not in imports_of("dutyline.app")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles() -> None:
    graph = {
        module: {t for t in imports_of(module, with_typing=True) if t in SOURCES} - {module}
        for module in SOURCES
    }
    cycles = [" <-> ".join(component) for component in _cycles(graph)]
    assert cycles == [], "modules that import each other, directly or not:\n" + "\n".join(cycles)


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_modules_are_small() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for module, path in SOURCES.items()
        if ".migrations" not in module
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
