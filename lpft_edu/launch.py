"""Where the lessons run online: the repository's URL (the one place that names it), the Binder and
Colab links of every lesson, and the two "launch cells" at the top of each lesson.

* The **badge cell** (a markdown cell right under the lesson's title cell, tagged ``launch-badges``)
  opens the lesson on Colab or Binder: the instructor version (``lessons/NAME.ipynb``, with the
  solutions) and the student version (``student/NAME.ipynb``). A student notebook's badge cell opens
  only the student version.
* The **Colab cell** (the first code cell, tagged ``colab-install``) installs lpft-edu from the
  repository when the notebook runs on Google Colab and does nothing anywhere else. It calls pip
  through ``subprocess`` with the kernel's own Python, not ``!pip``, so the lesson's ``.py`` source
  stays plain Python.

``python -m lpft_edu.authoring launch lessons/NAME.py`` writes both cells (idempotent) and
``python -m lpft_edu.authoring check`` fails when a lesson's cells differ from what it would write.
The course site (site/conf.py) takes its launch buttons from here too.

**In a fork, edit** :data:`REPO_URL` (and :data:`BRANCH` if yours is not ``main``), then run
``python -m lpft_edu.authoring launch`` and ``make student`` and commit: every badge, the Colab
install line and the site's buttons follow. The README's badges are written by hand: edit them too.
"""
from __future__ import annotations

from urllib.parse import quote

#: The public repository the lessons are launched from (a GitHub URL, no trailing slash).
REPO_URL = "https://github.com/lpft-edu/lpft-edu"
#: The branch Colab opens notebooks from (Binder opens the default branch, HEAD).
BRANCH = "main"

PACKAGE = "lpft-edu"
BADGES_TAG = "launch-badges"
COLAB_TAG = "colab-install"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


def owner_repo(repo_url: str = REPO_URL) -> str:
    """``OWNER/NAME`` of a GitHub repository URL."""
    prefix = "https://github.com/"
    if not repo_url.startswith(prefix) or repo_url.rstrip("/").count("/") != 4:
        raise ValueError(f"REPO_URL must look like https://github.com/OWNER/NAME, not {repo_url!r}")
    return repo_url.removeprefix(prefix).rstrip("/")


def binder_url(path: str, repo_url: str = REPO_URL) -> str:
    """JupyterLab on Binder, opened at ``path`` (a notebook path inside the repository)."""
    return f"https://mybinder.org/v2/gh/{owner_repo(repo_url)}/HEAD?labpath={quote(path, safe='')}"


def colab_url(path: str, repo_url: str = REPO_URL, branch: str = BRANCH) -> str:
    """The notebook at ``path`` opened on Google Colab straight from GitHub."""
    return f"https://colab.research.google.com/github/{owner_repo(repo_url)}/blob/{branch}/{path}"


def notebook_paths(name: str, student: bool = False) -> list[tuple[str, str]]:
    """(label, repository path) of the versions a lesson's badges open: instructor and student, or
    only the student version in a student notebook. ``name`` is the lesson's file stem."""
    student_path = ("Student version (exercises to do)", f"student/{name}.ipynb")
    if student:
        return [student_path]
    return [("Instructor version (with solutions)", f"lessons/{name}.ipynb"), student_path]


def badges_markdown(name: str, student: bool = False) -> str:
    """The badge cell's markdown for lesson ``name``."""
    lines = ["**Run this lesson online** (nothing to install; Colab needs a Google account):", ""]
    for label, path in notebook_paths(name, student):
        lines.append(f"* {label}: [![Open in Colab]({COLAB_BADGE})]({colab_url(path)}) "
                     f"[![Launch on Binder]({BINDER_BADGE})]({binder_url(path)})")
    return "\n".join(lines)


def pip_requirement(extras: tuple[str, ...] = (), repo_url: str = REPO_URL) -> str:
    """What the Colab cell asks pip for: the package straight from the repository."""
    extra = f"[{','.join(extras)}]" if extras else ""
    return f"{PACKAGE}{extra} @ git+{repo_url}"


def pip_command(python: str, extras: tuple[str, ...] = ()) -> list[str]:
    """The exact command the Colab cell runs (``python`` is the kernel's ``sys.executable``)."""
    return [python, "-m", "pip", "install", "--quiet", pip_requirement(extras)]


def colab_cell(extras: tuple[str, ...] = ()) -> str:
    """The Colab cell's code: installs the package on Colab, does nothing elsewhere."""
    return (
        "# On Google Colab, install lpft-edu first (about a minute). Anywhere else (Jupyter, Voila,\n"
        "# Binder, your laptop) this cell does nothing: the package is already installed there.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        '    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet",\n'
        f'                           "{pip_requirement(extras)}"])'
    )


def lesson_extras(source_text: str) -> tuple[str, ...]:
    """The package extras a lesson needs on Colab: ``vision`` (torch, torchvision) when it imports
    lpft_edu.vision or lpft_edu.mini, none otherwise (lessons 1 and 2 need only the core dependencies:
    numpy, scipy, matplotlib, ipywidgets, tqdm; never JupyterLab or Voila, which Colab replaces)."""
    return ("vision",) if "lpft_edu.vision" in source_text or "lpft_edu.mini" in source_text else ()
