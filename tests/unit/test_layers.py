"""The shape of pd_lib: layers as packages, imports only downwards, MLflow in one layer, and
MLflow's non-public names in one module (docs/architecture.md)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.helpers import PROJECT_ROOT

PD_LIB = PROJECT_ROOT / "pd_lib"
# Lower layers first; a module may import its own layer, the ones below, and the ground.
LAYERS = ("data", "modelling", "validation", "mlflow_layer")
GROUND = ("pd_lib.config", "pd_lib.errors", "pd_lib.checks", "pd_lib.cores", "pd_lib.memory",
          "pd_lib.process", "pd_lib.probability", "pd_lib.code_checkout")
# The entry points' parameters and the MLproject written from them: above modelling, below
# mlflow_layer.
BOUNDARY = ("pd_lib.params", "pd_lib.mlproject")
# Aliases where models saved before the layers find their classes (one import line each).
LEGACY = ("pd_lib.pd_model", "pd_lib.features")
INTERNALS = "pd_lib.mlflow_layer.mlflow_internals"
CONTRACT_TEST = "tests.unit.test_mlflow_internals"  # checks the internals themselves
# MLflow modules documented as public API; anything else of MLflow is an internal.
PUBLIC_MLFLOW = {"mlflow", "mlflow.tracking", "mlflow.entities", "mlflow.entities.model_registry",
                 "mlflow.exceptions", "mlflow.models", "mlflow.pyfunc", "mlflow.sklearn",
                 "mlflow.artifacts", "mlflow.projects", "mlflow.types"}


def _module_name(path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path) -> list[str]:
    """Every module ``path`` imports (top level or inside functions), as dotted names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


MODULES = {_module_name(p): p for p in sorted(PD_LIB.rglob("*.py"))}


def _layer(module: str) -> int:
    """Rank of a pd_lib module: ground 0, data 1 ... mlflow_layer 4; params and mlproject sit at
    2.5."""
    if module in GROUND or module == "pd_lib":
        return 0
    if module in BOUNDARY:
        return 2.5
    if module in LEGACY:
        return 5
    return LAYERS.index(module.split(".")[1]) + 1


def _pd_lib_imports(module: str) -> set[str]:
    return {name for name in _imports(MODULES[module]) if name in MODULES and name != module}


def test_every_module_belongs_to_a_layer_or_the_ground():
    stray = [m for m in MODULES if m not in (*GROUND, *LEGACY, "pd_lib", *BOUNDARY)
             and m.split(".")[1] not in LAYERS]
    assert not stray, f"modules outside the layers: {stray}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_or_sideways(module):
    upward = [m for m in _pd_lib_imports(module) if _layer(m) > _layer(module)]
    assert not upward, f"{module} imports a higher layer: {upward}"


def test_no_import_circles():
    graph = {m: _pd_lib_imports(m) for m in MODULES}
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for dep in graph[module]:
            assert state.get(dep) != "open", f"import circle: {' -> '.join(path + [dep])}"
            if dep not in state:
                visit(dep, path + [dep])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])


def test_legacy_aliases_only_re_export():
    for module in LEGACY:
        tree = ast.parse(MODULES[module].read_text())
        code = [n for n in tree.body if not (isinstance(n, ast.Expr) and n is tree.body[0])]
        assert len(code) == 1 and isinstance(code[0], ast.ImportFrom), module
        assert all(_imports(MODULES[m]).count(module) == 0 for m in MODULES), \
            f"nothing may import {module}: it exists for old model files only"


def test_pd_lib_never_imports_the_steps():
    for module, path in MODULES.items():
        assert not [m for m in _imports(path) if m.split(".")[0] == "steps"], module
        assert "import_module" not in path.read_text(), f"{module} loads modules by name"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_the_mlflow_layer_imports_mlflow(module):
    if module.startswith("pd_lib.mlflow_layer"):
        return
    uses = [m for m in _imports(MODULES[module]) if m.split(".")[0] == "mlflow"]
    assert not uses, f"{module} imports {uses}; MLflow belongs in pd_lib.mlflow_layer"


def test_non_public_mlflow_names_only_in_the_adapter():
    offenders = []
    for path in [*PD_LIB.rglob("*.py"), *(PROJECT_ROOT / "steps").rglob("*.py"),
                 *(PROJECT_ROOT / "tests").rglob("*.py")]:
        if _module_name(path) in (INTERNALS, CONTRACT_TEST):
            continue
        for name in _imports(path):
            if name.split(".")[0] != "mlflow":
                continue
            module = name if name in PUBLIC_MLFLOW else name.rsplit(".", 1)[0]
            private = any(part.startswith("_") for part in name.split("."))
            if module not in PUBLIC_MLFLOW or private:
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}: {name}")
    assert not offenders, "non-public MLflow names outside mlflow_internals:\n" + "\n".join(
        offenders)


def test_the_pure_layers_load_without_mlflow():
    code = ("import sys; import pd_lib.data.sources, pd_lib.data.ingest, pd_lib.data.splits, "
            "pd_lib.modelling.kinds, pd_lib.modelling.search, pd_lib.validation.evaluation, "
            "pd_lib.validation.report, pd_lib.params; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mlflow'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"
