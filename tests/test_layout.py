"""The layout shows the architecture: folders by role whose imports run
downwards only, no import circle, imports at the top of each module, private
folders reached through what their ``__init__`` hands on, and no private
name crossing a folder."""

import ast
import collections
import subprocess
import sys
from pathlib import Path

import pytest

import sktransfer

PACKAGE = Path(__file__).parent.parent / "sktransfer"

# The folders (and the top-level modules, each its own) from the bottom up:
# a module imports from its own folder or from lower ones only. The network
# core (inputs, runtime, backbones, networks) works without skorch, so the
# training recipe, with its skorch callbacks, sits above it.
LAYERS = [
    {"_version"},
    {"_inputs"},
    {"datasets"},
    {"_runtime"},
    {"backbones"},
    {"_networks"},
    {"_training"},
    {"_estimators"},
    {"baselines", "metrics", "multi_gpu"},
    {"_model_files"},
    {"inspection", "model_selection"},
    {"_cli"},
    {"__init__"},
    {"__main__"},
]
RANK = {folder: rank for rank, layer in enumerate(LAYERS) for folder in layer}
PRIVATE_FOLDERS = {
    "_estimators",
    "_networks",
    "_training",
    "_runtime",
    "_inputs",
    "_model_files",
}
# Optional dependencies, imported where they are used.
OPTIONAL = {"timm", "accelerate"}


def _name_of(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name_of(path): path for path in PACKAGE.rglob("*.py")}


def _folder(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(module, top_only=True):
    """(node, absolute target, names) of each import of ``module`` of this
    package; ``top_only``: the module-level ones."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "sktransfer":
                yield node, target, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sktransfer":
                    yield node, alias.name, []


def _graph():
    """Module -> the modules of this package its import runs (a module's
    import runs its packages' ``__init__`` first)."""
    edges = collections.defaultdict(set)
    for module in MODULES:
        for _, target, names in _imports(module):
            targets = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            for name in [target, *targets]:
                parts = name.split(".")
                for end in range(1, len(parts) + 1):
                    ancestor = ".".join(parts[:end])
                    own = module == ancestor or module.startswith(ancestor + ".")
                    if ancestor in MODULES and not own:
                        edges[module].add(ancestor)
    return edges


def test_every_folder_has_its_layer():
    assert {_folder(m) for m in MODULES} == set(RANK)


def test_no_import_circle():
    edges, state, path, circles = _graph(), {}, [], []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                circles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module)
    assert not circles


def test_imports_run_downward_between_folders():
    upward = [
        (module, target)
        for module, targets in _graph().items()
        for target in targets
        if _folder(module) != _folder(target)
        and RANK[_folder(target)] >= RANK[_folder(module)]
    ]
    assert not upward


def test_no_module_imports_the_package_init():
    found = [
        module
        for module in MODULES
        if module != "sktransfer"
        for _, target, names in _imports(module, top_only=False)
        if target == "sktransfer"
        and not all(f"sktransfer.{n}" in MODULES for n in names)
    ]
    assert not found


def test_imports_are_at_the_top_but_optional_dependencies():
    inside = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        top = {id(node) for node in tree.body}
        for block in tree.body:  # ``try: import x`` at the top is at the top
            if isinstance(block, ast.Try | ast.If):
                top |= {id(node) for node in ast.walk(block)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in top:
                continue
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += (
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            )
            level = getattr(node, "level", 0)
            if level or not all(n.split(".")[0] in OPTIONAL for n in names):
                inside.append(f"{module}:{node.lineno}")
    assert not inside


@pytest.mark.parametrize("folder", sorted(PRIVATE_FOLDERS))
def test_a_private_folder_hands_on_what_others_use(folder):
    """Others import the folder, never its modules, and its ``__init__``
    hands on exactly the names they take."""
    package = f"sktransfer.{folder}"
    used, reached_in = set(), []
    for module in MODULES:
        if module == package or module.startswith(package + "."):
            continue
        for _, target, names in _imports(module, top_only=False):
            if target == package:
                used |= set(names)
            elif target.startswith(package + "."):
                reached_in.append(f"{module} -> {target}")
    assert not reached_in
    tree = ast.parse(MODULES[package].read_text())
    exported = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "__all__"
    )
    assert sorted(exported) == sorted(used)


def _private_definitions():
    """Private name -> the folders that define it (functions, classes,
    methods, module constants, attributes set)."""
    defined = collections.defaultdict(set)
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                names += [t.attr for t in node.targets if isinstance(t, ast.Attribute)]
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    defined[name].add(_folder(module))
    return defined


def test_no_private_name_crosses_a_folder():
    """A private name is used in the folder that defines it: what another
    folder needs is handed on under a public name."""
    defined, crossing = _private_definitions(), []
    for module, path in MODULES.items():
        folder = _folder(module)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                receiver = node.value
                if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"):
                    continue
                name = node.attr
            elif isinstance(node, ast.ImportFrom) and node.level:
                for alias in node.names:
                    private = alias.name.startswith("_") and alias.name[1] != "_"
                    if private and folder not in defined.get(alias.name, {folder}):
                        crossing.append(f"{module}:{node.lineno} imports {alias.name}")
                continue
            else:
                continue
            private = name.startswith("_") and not name.startswith("__")
            if private and name in defined and folder not in defined[name]:
                crossing.append(f"{module}:{node.lineno} .{name}")
    assert not crossing


@pytest.mark.parametrize(
    "name",
    ["PretrainedCNNClassifier", "PretrainedCNNRegressor", "LabelRelationTransfer"],
)
def test_a_shallow_class_stack(name):
    """At most four of this library's classes above each estimator, each
    used by more than one class below it or holding one idea."""

    ours = [
        cls.__name__
        for cls in getattr(sktransfer, name).__mro__[1:]
        if cls.__module__.split(".")[0] == "sktransfer"
    ]
    assert len(ours) <= 4
    assert ours[-3:] == ["ImageEstimatorBase", "ImageDataHooks", "SkorchEstimator"]


def test_the_model_files_load_on_first_use():
    """``import sktransfer`` leaves skops.io for a model's first save or load,
    and the names are there all the same."""
    code = (
        "import sys, sktransfer\n"
        "assert 'skops.io' not in sys.modules\n"
        "from sktransfer import ModelFileError, save_model\n"
        "assert 'skops.io' in sys.modules and 'load_model' in dir(sktransfer)\n"
        "assert sktransfer.load_model.__module__.endswith('._persist')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sktransfer.nothing  # noqa: B018
