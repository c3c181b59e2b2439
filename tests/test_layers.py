"""The package's shape, checked: every import points down the layers, typer stays in the CLI,
and no module or function outgrows what a reader can hold. The source is parsed, not imported:
an import inside a function or under TYPE_CHECKING counts as much as one at the top."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "quaynotify"

# Top to bottom. A module may import from its own layer and from the layers below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli", "tools", "__main__"),
    ("delivery",),
    ("services",),
    ("config",),
    ("methods",),
    ("render",),
    ("catalogue",),
    ("store",),
    ("output", "errors", "paths", "masking", "inputs", "hints", "notification_area", "__init__"),
)
# Besides the layers: what must never be imported from where (the methods get what they need
# handed to them, typed; only the CLI and the generators of its files know about Typer).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "methods": ("quaynotify.store", "quaynotify.config", "quaynotify.services", "typer"),
    "store": ("quaynotify.methods", "quaynotify.catalogue", "typer"),
}
TYPER_ALLOWED = ("cli", "tools")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # what it imports, dotted (a submodule or a name in a module)
    line: int


def _name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")


def _modules(package: Path = PACKAGE) -> list[Path]:
    return sorted(package.rglob("*.py"))


def _imports(path: Path, package: Path = PACKAGE) -> Iterator[Import]:
    module = _name(path, package)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield Import(module, f"{node.module}.{alias.name}", node.lineno)


def _top(dotted: str) -> str:
    """The package's top-level part a dotted name falls in: `quaynotify.store.db` -> store."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer(dotted: str) -> int:
    top = _top(dotted)
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    # a name of the package itself (`from quaynotify import __version__`): the bottom
    if top.startswith("__") or dotted.count(".") == 1:
        return len(LAYERS) - 1
    raise AssertionError(f"{dotted} is in no layer: add quaynotify.{top} to LAYERS")


def _all_imports(package: Path = PACKAGE) -> list[Import]:
    return [i for path in _modules(package) for i in _imports(path, package)]


def upward(imports: list[Import]) -> list[str]:
    return [
        f"{i.module} (line {i.line}) imports {i.target}"
        for i in imports
        if i.target.startswith("quaynotify.") and layer(i.target) < layer(i.module)
    ]


def test_every_part_of_the_package_has_a_layer() -> None:
    for path in _modules():
        layer(_name(path))


def test_no_module_imports_from_a_layer_above_it() -> None:
    assert upward(_all_imports()) == []


def test_forbidden_imports_stay_out() -> None:
    found = [
        f"{i.module} (line {i.line}) imports {i.target}"
        for i in _all_imports()
        for banned in FORBIDDEN.get(_top(i.module), ())
        if i.target == banned or i.target.startswith(banned + ".")
    ]
    assert found == []


def test_only_the_cli_and_tools_import_typer() -> None:
    found = [
        f"{i.module} (line {i.line})"
        for i in _all_imports()
        if i.target.split(".")[0] in ("typer", "click") and _top(i.module) not in TYPER_ALLOWED
    ]
    assert found == []


def test_the_walker_sees_an_upward_import(tmp_path: Path) -> None:
    """The check can fail: an upward import hidden in a function, or spelt as a plain import
    or as a submodule of the package, is found; a downward one is not."""
    package = tmp_path / "quaynotify"
    (package / "store").mkdir(parents=True)
    (package / "store" / "bad.py").write_text(
        "import quaynotify.delivery.run\n"
        "from quaynotify import output\n"
        "def f():\n    from quaynotify.cli import app\n",
        encoding="utf-8",
    )
    (package / "cli").mkdir()
    (package / "cli" / "fine.py").write_text("from quaynotify.store import db\n")
    assert upward(_all_imports(package)) == [
        "quaynotify.store.bad (line 1) imports quaynotify.delivery.run",
        "quaynotify.store.bad (line 4) imports quaynotify.cli.app",
    ]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split it"
    long = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - start + 1
            if length > MAX_FUNCTION_LINES:
                long.append(f"{node.name} (line {node.lineno}): {length} lines")
    assert long == []
