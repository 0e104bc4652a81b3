"""environment.yml (conda) and binder/environment.yml (Binder) stay identical and complete."""
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def requirement_names(specs):
    return {re.split(r"[<>=!~ \[]", s, maxsplit=1)[0].lower(): s.replace(" ", "") for s in specs}


def environment_requirements(path):
    """Package specs listed in an environment file (conda and pip sections; python/pip excluded)."""
    specs = []
    for line in path.read_text().splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+.*?)\s*(#.*)?$", line)
        if m and not m.group(1).startswith("-") and not m.group(1).endswith(":"):
            specs.append(m.group(1))
    reqs = requirement_names(specs)
    reqs.pop("python", None)
    reqs.pop("pip", None)
    return reqs


def test_binder_environment_is_identical_to_root():
    assert (REPO / "binder/environment.yml").read_text() == (REPO / "environment.yml").read_text()


def test_environment_lists_every_runtime_dependency_with_the_same_bounds():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    runtime = requirement_names(project["dependencies"] + extras["lab"] + extras["vision"])
    env = environment_requirements(REPO / "environment.yml")
    missing = sorted(set(runtime) - set(env))
    assert not missing, f"environment.yml lacks {missing}"
    for name, spec in runtime.items():
        assert env[name] == spec, f"{name}: pyproject says {spec}, environment.yml says {env[name]}"


def test_binder_postbuild_installs_the_package_and_stops_on_errors():
    text = (REPO / "binder/postBuild").read_text()
    assert "set -e" in text
    assert re.search(r"pip install .*-e \.", text)


def test_what_colab_installs_brings_no_jupyter_front_end_or_server():
    """The lessons' Colab cell installs the core dependencies (plus `vision` for lesson 3). Colab runs
    its own front end and server; JupyterLab, Voila or a newer jupyter-server pulled into its runtime
    can break it, so they live in the `lab` extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    colab = set(requirement_names(project["dependencies"] + project["optional-dependencies"]["vision"]))
    assert not colab & {"jupyterlab", "voila", "jupyter-server", "jupyter_server", "notebook", "jupytext", "nbclassic"}
    assert {"jupyterlab", "voila"} <= set(requirement_names(project["optional-dependencies"]["lab"]))
