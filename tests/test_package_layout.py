"""The house rules on cs3lab's own module graph: no circles of imports (type-only imports
count too, they are circles for a reader and for the next refactoring), and the web layer
(cs3lab/web.py) is imported only by the handlers and the extension app (cs3lab/app.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import cs3lab

PACKAGE = Path(cs3lab.__file__).parent


def module_files() -> dict[str, Path]:
    files = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "labextension" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[name] = path
    return files


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The cs3lab modules that module ``name`` imports (``from . import x`` imports module
    x, not the package it is in)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = {f"{target}.{alias.name}" for alias in node.names} & known.keys()
            found.update(submodules)
            if target in known and len(submodules) < len(node.names):
                found.add(target)
    return found - {name}


def import_graph() -> dict[str, set[str]]:
    known = module_files()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in graph[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_finder_sees_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_the_graph_sees_relative_and_type_only_imports(tmp_path):
    module = tmp_path / "a.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import b\n"
        "from ..pkg import c\n"
        "if TYPE_CHECKING:\n"
        "    from .d import D\n"
    )
    known = {name: module for name in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d")}
    assert imports_of("pkg.a", module, known) == {"pkg.b", "pkg.c", "pkg.d"}
    graph = import_graph()
    assert "cs3lab.contents_manager.folder_copy" in graph["cs3lab.contents_manager.manager"]


def test_no_module_imports_itself_round_a_circle():
    assert circles(import_graph()) == []


def test_only_handlers_and_the_extension_import_the_web_layer():
    upward = [
        name
        for name, deps in import_graph().items()
        if "cs3lab.web" in deps
        and not name.rpartition(".")[2].endswith("handlers")
        and name != "cs3lab.app"
    ]
    assert upward == []


def test_every_picture_and_page_the_docs_link_to_exists():
    """The README and docs/*.md link to pictures and pages of this repository that exist."""

    repo = PACKAGE.parent
    pages = [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]
    missing = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)\)", page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                missing.append(f"{page.relative_to(repo)}: {target}")
    assert missing == []
