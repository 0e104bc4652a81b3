"""Sphinx configuration of the lpft-edu course site (`make site`, see site/build.py).

site/build.py copies the lessons and docs into build/site-src/ with the repository's relative
layout (so links such as ../docs/glossary.md resolve) and runs Sphinx with this folder as the
configuration directory. Everything the pages load is served from the site itself: no CDN for
MathJax, ipywidgets or fonts, so the site builds and reads offline.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # lpft_edu from this checkout, installed or not

from lpft_edu.launch import BRANCH, REPO_URL  # noqa: E402

# The repository is named in one place, lpft_edu/launch.py (a fork edits it there): the theme's
# launch buttons (Binder, Colab), the banner on each lesson page, the lessons' badges and links to
# repository files that are not pages of the site all derive from it.
REPOSITORY_URL = REPO_URL
REPOSITORY_BRANCH = BRANCH

project = "lpft-edu"
author = "lpft-edu contributors"
copyright = "lpft-edu contributors, MIT licence"

extensions = [
    "myst_nb",  # notebooks and MyST markdown (brings myst_parser)
    "sphinx.ext.mathjax",
    "lpft_site",  # site/lpft_site.py: banners, static widget snapshots, alt text, repository links
]

# docs/glossary.md puts its entries at level 3 under the page title (stable anchors for links).
suppress_warnings = ["myst.header"]

root_doc = "index"
exclude_patterns = ["_includes", "**.ipynb_checkpoints"]  # _includes: the README, included by index.md, not a page
templates_path = []
html_static_path = [str(HERE / "_static")]
html_css_files = ["lpft-site.css"]

# -- MyST and notebooks ----------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
# MyST's MathJax tweak targets MathJax 3/4 options; with MathJax 2 (below) it would only hide the
# maths, so MathJax 2 scans every page for the \( \) and \[ \] delimiters Sphinx writes.
myst_update_mathjax = False
# Every lesson runs during the build, in fast mode (site/build.py sets LPFT_FAST=1); an error in a
# cell stops the build instead of publishing a traceback.
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
# Library warnings (stderr) would print the build machine's file paths on a public page; the
# lessons' own tests catch warnings. Errors still stop the build (above).
nb_output_stderr = "remove"
# No widget manager from a CDN: the static pages show each widget's state (see lpft_site.py)
# instead of controls that cannot run without a kernel.
nb_ipywidgets_js = {}
# Prefer an output's static HTML or Markdown (e.g. a quiz's question and collapsible answer) over
# its widget view; an output that only has a widget view becomes a snapshot (lpft_site.py).
nb_mime_priority_overrides = [("html", "text/html", 5), ("html", "text/markdown", 7)]

# -- MathJax from the jupyter-server-mathjax package (MathJax 2), copied into _static/mathjax --
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]], "processEscapes": True},
    # The package ships only the STIX-Web fonts (as Jupyter's classic notebook configured them).
    "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web", "imageFont": None},
    "SVG": {"font": "STIX-Web"},
    "menuSettings": {"zoom": "None", "CHTMLpreview": False},
    "messageStyle": "none",  # no "Typesetting math: 100%" box over the page
    # The fast preview draws with the TeX fonts, which the package does not ship (404s offline).
    "fast-preview": {"disabled": True},
    "CHTML-preview": {"disabled": True},
}

# -- Theme ---------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "lpft-edu: fine-tuning can distort pretrained features"
html_last_updated_fmt = None
html_show_sourcelink = False
html_theme_options = {
    "repository_url": REPOSITORY_URL,
    "repository_branch": REPOSITORY_BRANCH,
    "path_to_docs": "",  # staged pages keep their repository paths (lessons/..., docs/...)
    "use_repository_button": True,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "launch_buttons": {
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
        "notebook_interface": "jupyterlab",
    },
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "navigation_with_keys": False,
}
