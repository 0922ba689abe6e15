"""The package's import graph: no loops, and no import from a higher layer into a lower one.

Every ``import`` statement of every module is read from the source (imports inside
functions included, since they run too), so a lazy import cannot hide a loop or an
upward dependency. The layers, from the bottom: ``errors``, ``version`` and the package
root; ``core`` and ``examples``; ``ptc``, ``fetch`` and ``files``; ``models``;
``pipeline``; ``evaluation``, ``render``, ``training`` and ``packaging``; ``batch``; ``report``;
``integrations``; ``service``; ``cli``; ``__main__`` (``python -m propscan``). A module may
import its own layer and the layers below. The public names the package root offers
(``propscan.analyze`` ...) load lazily, so only its type-checking imports reach up; no
module imports the root (``version`` holds ``__version__``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import propscan

PACKAGE_DIR = Path(propscan.__file__).parent

LAYERS: tuple[tuple[str, ...], ...] = (
    ("propscan", "propscan.errors", "propscan.version"),
    ("propscan.core", "propscan.examples"),
    ("propscan.ptc", "propscan.fetch", "propscan.files"),
    ("propscan.models",),
    ("propscan.pipeline",),
    ("propscan.evaluation", "propscan.render", "propscan.training", "propscan.packaging"),
    ("propscan.batch",),
    ("propscan.report",),
    ("propscan.integrations",),
    ("propscan.service",),
    ("propscan.cli",),
    ("propscan.__main__",),
)

#: The model interface: it names no implementation, not even lazily.
INTERFACE = (
    "propscan.models.base",
    "propscan.models.registry",
    "propscan.models.decoding",
    "propscan.models.decoding_settings",
    "propscan.models.span_edges",
)
IMPLEMENTATIONS = ("propscan.models.baseline", "propscan.models.transformer")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, typing_only: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every import node, with whether it runs only for type checkers."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, typing_only
        elif isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), typing_only)
        else:
            yield from _imports(node, typing_only)


def _targets(node: ast.AST, importer: str) -> Iterator[str]:
    """The propscan modules an import statement loads (a name that is a submodule counts)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        assert isinstance(node, ast.ImportFrom)
        base = node.module or ""
        if node.level:
            package = importer.split(".")
            if MODULES[importer].name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
            for alias in node.names
        ]
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name.startswith("propscan"):
            yield name


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Edges that run (``runtime``) and all edges, type-checking ones included (``every``)."""
    runtime: dict[str, set[str]] = {name: set() for name in MODULES}
    every: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, typing_only in _imports(tree):
            for target in _targets(node, name):
                if target == name:
                    continue
                every[name].add(target)
                if not typing_only:
                    runtime[name].add(target)
    return runtime, every


RUNTIME, EVERY = import_graph()


def layer_of(module: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or (p != "propscan" and module.startswith(p + ".")) for p in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer; add its package to LAYERS")


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_graph_sees_the_whole_package() -> None:
    assert {"propscan.pipeline", "propscan.models.decoding", "propscan.cli.app"} <= set(MODULES)
    assert "propscan.models.base" in RUNTIME["propscan.models.registry"]
    assert "propscan.models.decoding" in RUNTIME["propscan.models.baseline.detector"]


def test_no_import_loops() -> None:
    assert find_cycles(RUNTIME) == []


def test_loops_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_from_a_higher_layer(module: str) -> None:
    imported = RUNTIME[module] if module == "propscan" else EVERY[module]
    upward = sorted(t for t in imported if layer_of(t) > layer_of(module))
    assert upward == [], f"{module} (layer {layer_of(module)}) imports higher layers: {upward}"


@pytest.mark.parametrize("module", INTERFACE)
def test_the_model_interface_imports_no_implementation(module: str) -> None:
    assert not [t for t in EVERY[module] if t.startswith(IMPLEMENTATIONS)]


def test_models_and_batch_never_import_the_service() -> None:
    for module, targets in EVERY.items():
        if module.startswith(("propscan.models", "propscan.batch", "propscan.pipeline")):
            assert not [t for t in targets if t.startswith("propscan.service")], module


def test_no_module_imports_the_package_root() -> None:
    """The root offers the public names lazily; a module that imported it would reach up."""
    assert [module for module, targets in RUNTIME.items() if "propscan" in targets] == []


#: Where technique labels may be written out: the catalogue, and the tables of corpora
#: whose own names it maps (tests and data files are outside the package's modules).
CATALOGUE = ("propscan.core.techniques",)


def _string_literals(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _label_literals(source: str, labels: frozenset[str]) -> list[tuple[int, str]]:
    return [(line, value) for line, value in _string_literals(ast.parse(source)) if value in labels]


def test_technique_labels_are_spelt_only_in_the_catalogue() -> None:
    """A model owns its technique set: code outside the catalogue names no label itself."""
    from propscan.core.techniques import MERGE_18_TO_14, TECHNIQUES

    labels = frozenset({*TECHNIQUES, *MERGE_18_TO_14})
    found = {
        module: hits
        for module, path in MODULES.items()
        if module not in CATALOGUE
        and (hits := _label_literals(path.read_text(encoding="utf-8"), labels))
    }
    assert found == {}


def test_a_label_literal_is_caught() -> None:
    labels = frozenset({"Doubt"})
    assert _label_literals('KEEP = "Doubt"\nNOTE = "Doubt about it"\n', labels) == [(1, "Doubt")]
