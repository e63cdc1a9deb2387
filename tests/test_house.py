"""The house rules of the Python package, checked: no import circles, small modules, short
functions (a longer one says why on its ``def`` line, ``# long: reason``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dali_saliencymix"
MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 60  # code lines after the docstring


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports anywhere (in functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            # `import a.b.c` imports a, a.b and a.b.c: the longest that is a module counts.
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    graph = {name: package_imports(path, modules) - {name} for name, path in paths.items()}
    # A module imports its parent packages' __init__ first; those edges are implied, not cycles.
    for name, edges in graph.items():
        graph[name] = {e for e in edges if not name.startswith(e + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_package_has_no_import_circles() -> None:
    graph = import_graph()
    assert len(graph) > 20
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_modules_are_small() -> None:
    big = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not big, f"modules over {MAX_MODULE_LINES} lines: {big}"


def long_functions(path: Path) -> dict[str, int]:
    source = path.read_text()
    lines = source.splitlines()
    found = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        start = body[0].end_lineno if ast.get_docstring(node) and len(body) > 1 else node.lineno
        length = node.end_lineno - start
        if length > MAX_FUNCTION_LINES and "# long:" not in lines[node.lineno - 1]:
            found[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = length
    return found


def test_functions_are_short() -> None:
    found = {}
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "pipelines").glob("*.py")]:
        found.update(long_functions(path))
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines: {found}"


def test_the_readme_layout_names_every_module() -> None:
    """A newcomer finds each module of the package in the README's Layout table."""
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    layout = layout[: layout.index("\n## ", 1)] if "\n## " in layout[1:] else layout
    missing = [
        str(p.relative_to(PACKAGE))
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.name != "__init__.py" and f"`{p.name}`" not in layout
    ]
    assert not missing, f"modules missing from the README's Layout: {missing}"
