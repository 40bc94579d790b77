"""The layout a newcomer reads in one guess (issue 11): short modules and functions, views
that import operations rather than each other, and nothing that imports the app itself."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Application code only: tests, benchmarks and generated migrations have their own shape.
NOT_APP = {"tests", "bench", "migrations", "tools", "node_modules"}


def app_modules():
    """Every Python file of the app (hidden folders such as .venv left out)."""
    modules = []
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if not NOT_APP & set(parts) and not any(part.startswith(".") for part in parts):
            modules.append(path)
    return modules


def parsed(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_the_app_has_modules_to_read():
    assert len(app_modules()) > 30  # so that the checks below cannot pass on nothing


def test_no_module_is_longer_than_a_sitting():
    long = {}
    for path in app_modules():
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > MAX_MODULE_LINES:
            long[str(path.relative_to(ROOT))] = lines
    assert long == {}


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in app_modules():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {lines}")
    assert long == []


def test_nothing_imports_the_app_module():
    importers = [
        str(path.relative_to(ROOT))
        for path in app_modules()
        if path.name != "app.py" and "app" in set(imported_modules(parsed(path)))
    ]
    assert importers == []


@pytest.mark.parametrize("audience", ["public", "embed", "api", "auth", "admin"])
def test_no_blueprint_imports_another_blueprints_internals(audience):
    """Shared view helpers live in blueprints/shared.py; admin/ may import its own package."""
    others = {"public", "embed", "api", "auth", "admin"} - {audience}
    package = ROOT / "blueprints" / audience
    paths = list(package.glob("*.py")) if package.is_dir() else [package.with_suffix(".py")]
    reached = {
        module
        for path in paths
        for module in imported_modules(parsed(path))
        if module.startswith("blueprints.") and module.split(".")[1] in others
    }
    assert reached == set()
