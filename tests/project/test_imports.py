"""The architecture in DESIGN.md holds: imports point down the picture, and no module imports in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.cli_runner import REPO

PACKAGE = REPO / "sidtool"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """The sidtool modules ``name`` imports, at module level or anywhere inside it."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sidtool":
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & MODULES.keys()
            # "from package import module" depends on the module; any other name comes from the package itself
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "sidtool")
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: _imports(name) for name in MODULES}


def _related(first: str, second: str) -> bool:
    """A package and a module inside it (importing a submodule runs its package's __init__)."""
    return first.startswith(second + ".") or second.startswith(first + ".")


def test_no_import_cycle_anywhere():
    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        stack = [start]
        while stack:
            for module in GRAPH[stack.pop()]:
                if module not in seen:
                    seen.add(module)
                    stack.append(module)
        return seen

    cycles = sorted(
        (name, module)
        for name, imported in GRAPH.items()
        for module in imported
        if not _related(name, module) and name in reachable(module)
    )
    assert cycles == []


def test_imports_point_down_the_picture():
    """The model knows no reader; the analysis knows no file format; nothing imports the CLI."""
    assert not {m for m in GRAPH["sidtool.model"] if m.startswith("sidtool.sources")}
    for analysis in ("sidtool.membership", "sidtool.risk"):
        assert not {m for m in GRAPH[analysis] if m.startswith(("sidtool.sources", "sidtool.output", "sidtool.report"))}
    assert [name for name, imported in GRAPH.items() if "sidtool.cli" in imported and name != "sidtool.__main__"] == []
    security = {name: imported for name, imported in GRAPH.items() if name.startswith("sidtool.security")}
    assert all(m.startswith(("sidtool.security", "sidtool.errors")) for imported in security.values() for m in imported)
