"""The shape of pd_lib: layers as packages, imports only downwards, MLflow in one layer, and
MLflow's and scikit-learn's non-public names each in one module (docs/architecture.md)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import PROJECT_ROOT

PD_LIB = PROJECT_ROOT / "pd_lib"
# Lower layers first; a module may import its own layer, the ones below, and the ground.
LAYERS = ("data", "modelling", "validation", "mlflow_layer")
GROUND = ("pd_lib.config", "pd_lib.errors", "pd_lib.checks", "pd_lib.cores", "pd_lib.memory",
          "pd_lib.process", "pd_lib.probability", "pd_lib.code_checkout", "pd_lib.spark_session")
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
            "pd_lib.modelling.factory, pd_lib.modelling.search, pd_lib.validation.evaluation, "
            "pd_lib.validation.report, pd_lib.params; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mlflow'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


# --- scikit-learn's private names -----------------------------------------------------------

SKLEARN_INTERNALS = "pd_lib.modelling.sklearn_internals"
# namedtuple's public methods start with an underscore
PUBLIC_UNDERSCORE = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}
PRIVATE_SKLEARN_PATH = re.compile(r"sklearn(\.\w+)+")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _root(node: ast.AST) -> str | None:
    """The name an expression starts from: ``a`` in ``a.b[0].c()``, ``x`` in
    ``getattr(x, "b")``."""
    while True:
        if isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call):
            getter = isinstance(node.func, ast.Name) and node.func.id == "getattr"
            node = node.args[0] if getter and node.args else node.func
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _module_by_name(node: ast.AST) -> str | None:
    """The top-level package of ``sys.modules.get("x")``, ``sys.modules["x"]`` or
    ``importlib.import_module("x")``; None for anything else."""
    if isinstance(node, ast.Call) and ast.unparse(node.func) in (
            "sys.modules.get", "importlib.import_module", "import_module"):
        name = node.args[0] if node.args else None
    elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "sys.modules":
        name = node.slice
    else:
        return None
    if isinstance(name, ast.Constant) and isinstance(name.value, str):
        return name.value.split(".")[0]
    return None


def _private_sklearn_uses(source: str) -> list[str]:
    """The private scikit-learn names ``source`` uses, as ``line: what``:

    - an import of a scikit-learn name with an underscore segment;
    - an underscore attribute (or getattr/hasattr/setattr/delattr of one) read off anything
      but ``self``/``cls`` or a module of another library imported under that name: off an
      estimator, a variable, ``super()``, or scikit-learn itself;
    - a string naming a private scikit-learn path (skops trust lists are checked apart).
    """
    tree = ast.parse(source)
    other_modules = set()  # names bound to modules (or their members) of other libraries
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue
            base = node.module if isinstance(node, ast.ImportFrom) else None
            for alias in node.names:
                name = f"{base}.{alias.name}" if base else alias.name
                if name.split(".")[0] == "sklearn":
                    if any(_private(part) for part in name.split(".")):
                        found.append(f"{node.lineno}: import {name}")
                else:
                    other_modules.add(alias.asname or alias.name.split(".")[0])
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name)
              and _module_by_name(node.value) not in (None, "sklearn")):
            other_modules.add(node.targets[0].id)  # numpy = sys.modules.get("numpy")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner, attribute = node.value, node.attr
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str)):
            owner, attribute = node.args[0], node.args[1].value
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and PRIVATE_SKLEARN_PATH.fullmatch(node.value)
              and any(_private(part) for part in node.value.split("."))):
            found.append(f"{node.lineno}: '{node.value}'")
            continue
        else:
            continue
        if not _private(attribute) or attribute in PUBLIC_UNDERSCORE:
            continue
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue  # a class's own attribute
        if _root(owner) in other_modules:
            continue  # another library's internals (multiprocessing, numpy, MLflow's adapter)
        found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("source", [
    "from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor",
    "import sklearn.utils._openmp_helpers",
    "from sklearn.utils import _safe_indexing",
    "from sklearn.model_selection._search import BaseSearchCV as Base",
    "def f(estimator):\n    return estimator._predictors",
    "def f(model):\n    return model.estimator_._bin_mapper.make_known_categories_bitsets()",
    "def f(estimator, X):\n    return estimator._preprocess_X(X, reset=False)",
    "def f(estimator):\n    return getattr(estimator, '_baseline_prediction')",
    "def f(estimator):\n    return hasattr(estimator, '_n_threads')",
    "import sklearn\nsklearn.utils._param_validation",
    "class E:\n    def fit(self, X):\n        return super()._validate_data(X)",
    "class E:\n    def f(self):\n        return self.inner_._raw_predict(0)",
    "TRUST = ('sklearn.tree._tree.Tree',)",
    "import sys\nsk = sys.modules['sklearn']\nsk.utils._openmp_helpers",
])
def test_the_sklearn_fence_catches_private_uses(source):
    assert _private_sklearn_uses(textwrap.dedent(source)), source


@pytest.mark.parametrize("source", [
    "from sklearn.ensemble import HistGradientBoostingClassifier",
    "from sklearn.model_selection import GridSearchCV",
    "class E:\n    def f(self):\n        return self._cache",
    "from multiprocessing import forkserver\nforkserver._forkserver._stop()",
    "import numpy\ngetattr(getattr(numpy, '_core', None), 'multiarray', None)",
    "import sys\nnumpy = sys.modules.get('numpy')\nnumpy._core.multiarray",
    "def f(point):\n    return point._replace(x=1)",
    "def f(estimator):\n    return estimator.__sklearn_clone__()",
    "NAME = 'sklearn.utils.validation.check_array'",
    "TEXT = 'see sklearn._loss for the losses'",
])
def test_the_sklearn_fence_spares_public_uses(source):
    assert not _private_sklearn_uses(textwrap.dedent(source)), source


def test_private_sklearn_names_only_in_the_internals_module():
    from pd_lib.modelling.skops_trust import trusted_types  # checked by test_sklearn_internals

    trusted = {f"'{name}'" for name in trusted_types()}
    offenders = []
    for path in [*PD_LIB.rglob("*.py"), *(PROJECT_ROOT / "steps").rglob("*.py")]:
        if _module_name(path) in (SKLEARN_INTERNALS, INTERNALS):
            continue  # the MLflow fence reads MLflow's private attributes off MLflow objects
        offenders += [f"{path.relative_to(PROJECT_ROOT)}:{use}"
                      for use in _private_sklearn_uses(path.read_text())
                      if use.split(": ", 1)[1] not in trusted]
    assert not offenders, (
        "private scikit-learn names outside pd_lib/modelling/sklearn_internals.py (add a "
        "function there, with why and what breaks, and a contract test):\n"
        + "\n".join(offenders))


PACKAGES = sorted({*LAYERS, *(str(d.relative_to(PD_LIB)) for layer in LAYERS
                              for d in (PD_LIB / layer).iterdir()
                              if d.is_dir() and any(d.glob("*.py")))})


@pytest.mark.parametrize("package", PACKAGES)
def test_every_layer_and_concept_package_lists_its_modules(package):
    """Each layer, and each concept package inside one (mlflow_layer's runner, building,
    governance, scoring), has an ``__init__`` with a docstring (what it holds) and an
    ``__all__`` naming exactly its modules and packages: one added without a word fails."""
    init = PD_LIB / package / "__init__.py"
    assert init.is_file(), f"pd_lib/{package} has no __init__.py"
    tree = ast.parse(init.read_text())
    assert ast.get_docstring(tree), f"pd_lib/{package}/__init__.py has no docstring"
    listed = next(ast.literal_eval(node.value) for node in tree.body
                  if isinstance(node, ast.Assign)
                  and any(getattr(t, "id", "") == "__all__" for t in node.targets))
    folder = PD_LIB / package
    modules = sorted([p.stem for p in folder.glob("*.py") if p.stem != "__init__"]
                     + [d.name for d in folder.iterdir() if (d / "__init__.py").is_file()])
    assert sorted(listed) == modules, f"pd_lib/{package}/__init__.py's __all__ is not current"


def test_mlflow_layer_packages_import_the_base_and_each_other_one_way():
    """runner -> governance, building -> runner and governance, scoring -> governance, all ->
    the base: never back, so each package can be read knowing only the ones below it."""
    allowed = {"runner": {"governance"}, "building": {"runner", "governance"},
               "scoring": {"governance"},
               "governance": set()}
    wrong = []
    for module in MODULES:
        parts = module.split(".")
        if len(parts) < 4 or parts[1] != "mlflow_layer":
            continue
        for name in _pd_lib_imports(module):
            target = name.split(".")
            if len(target) >= 4 and target[1] == "mlflow_layer" and target[2] != parts[2] \
                    and target[2] not in allowed[parts[2]]:
                wrong.append(f"{module} imports {name}")
    assert not wrong, "\n".join(wrong)
