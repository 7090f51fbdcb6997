"""The package as installed: its version is the library's, it ships its typing stub, and every
public name is documented."""

import ast
import inspect
import pathlib
import subprocess

import descent
from descent import optim


def test_version_is_the_librarys(cli):
    out = subprocess.run([cli, "--version"], check=True, capture_output=True, text=True).stdout
    assert descent.__version__ in out


def test_typing_stub_and_marker_ship_with_the_module():
    here = pathlib.Path(descent._descent.__file__).parent
    stub = here / "_descent.pyi"
    assert (here / "py.typed").exists()
    tree = ast.parse(stub.read_text())
    names = {node.name for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert {"Tensor", "from_numpy", "from_dlpack", "train", "hvp", "hessian", "SGD",
            "LBFGS"} <= names


def public_names():
    for module in (descent, optim):
        for name in dir(module):
            obj = getattr(module, name)
            if name.startswith("_") or inspect.ismodule(obj):
                continue
            yield f"{module.__name__}.{name}", obj


def test_every_public_name_has_a_docstring():
    undocumented = []
    for name, obj in public_names():
        doc = (getattr(obj, "__doc__", None) or "").strip()
        lines = [line for line in doc.splitlines() if line.strip()]
        # nanobind starts a bound function's __doc__ with its signature: more must follow.
        bound = not (inspect.isclass(obj) or inspect.isfunction(obj))
        if len(lines) < (2 if bound else 1):
            undocumented.append(name)
    assert undocumented == []


def test_estimators_are_importable_from_the_top():
    for name in ("LinearRegression", "LogisticRegression", "MLPRegressor"):
        assert inspect.isclass(getattr(descent, name))
