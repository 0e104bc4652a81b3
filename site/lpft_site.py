"""Sphinx extension for the course site: make static pages honest, accessible and self-contained.

* Each lesson page opens with a banner: it is a fast-mode run, the controls are interactive only in
  Jupyter/Voila/Binder, and links to launch it (Binder, Colab) built from lpft_edu.launch.REPO_URL.
* A widget output (an app, a control) cannot run without a kernel. Instead of an empty space or
  dead sliders, the page says so and shows the app's plot as the build drew it: the PNG held by
  its ``Image`` widget in the notebook's saved widget state.
* Every image gets a non-empty alt text (a widget's ``tooltip`` or a description of where the
  figure comes from, unless the notebook cell already gives one via myst-nb's ``image.alt``).
* Links to repository files that are not pages of the site (../README.md, ../benchmarks/README.md,
  demos/) point at the repository (README.md: the site's home page); images from other hosts
  (README-style badges) become their alt text, so no page loads anything from another origin.
* MathJax 2 is copied from the jupyter-server-mathjax package into ``_static/mathjax``.
"""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform

from lpft_edu import launch

REPO = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_KEY = "ipywidgets_state"  # myst-nb's key for a page's saved widget state
SNAPSHOT_DIR = "_widget_snapshots"


def repository(config) -> tuple[str, str]:
    """(URL, branch) from the theme options, the one place conf.py names the repository."""
    options = config.html_theme_options
    return options["repository_url"].rstrip("/"), options.get("repository_branch", "main")


def repo_blob_url(config, path: Path) -> str:
    url, branch = repository(config)
    kind = "tree" if path.is_dir() else "blob"
    return f"{url}/{kind}/{branch}/{path.relative_to(REPO).as_posix()}"


# ---------------------------------------------------------------------------------------------
# Lesson banner.

def launch_links(config, docname: str) -> list[tuple[str, str]]:
    """(label, url) for running a lesson page: instructor version, and the student version where
    the repository has one (student/NAME.ipynb). URLs as the lessons' own badges write them."""
    url, branch = repository(config)
    links = []
    name = Path(docname).name
    for label, path in (("", f"{docname}.ipynb"), ("student version ", f"student/{name}.ipynb")):
        if not (REPO / path).is_file():
            continue
        links.append((f"{label}on Binder", launch.binder_url(path, url)))
        links.append((f"{label}on Colab", launch.colab_url(path, url, branch)))
    return links


def lesson_banner(config, docname: str) -> nodes.Element:
    note = nodes.admonition(classes=["note", "lpft-static-banner"])
    note += nodes.title(text="A static copy of this lesson")
    para = nodes.paragraph()
    para += nodes.Text("This page shows the lesson executed once while the site was built, in fast mode "
                       "(LPFT_FAST=1: smaller data, fewer steps), so its numbers and figures come from that "
                       "fast-mode run and can differ from a full run. Sliders, buttons and the pop quiz are "
                       "interactive in Jupyter, Voila, Binder or Colab, not on this page. Run it: ")
    for i, (label, url) in enumerate(launch_links(config, docname)):
        if i:
            para += nodes.Text(" · ")
        para += nodes.reference(text=label, refuri=url)
    para += nodes.Text(".")
    note += para
    return note


class LessonBanner(SphinxTransform):
    default_priority = 500

    def apply(self, **kwargs) -> None:
        if not self.env.docname.startswith("lessons/"):
            return
        title = next(iter(self.document.findall(nodes.title)), None)
        section = title.parent if title is not None else self.document
        index = section.index(title) + 1 if title is not None else 0
        section.insert(index, lesson_banner(self.config, self.env.docname))


# ---------------------------------------------------------------------------------------------
# Widget outputs as static snapshots.

def widget_state(env, docname: str) -> dict:
    """The page's saved widget models (model id -> model), as myst-nb recorded them."""
    from myst_nb.sphinx_ import NbMetadataCollector

    entry = NbMetadataCollector.get_js_files(env, docname).get(WIDGET_STATE_KEY)
    if not entry:
        return {}
    return json.loads(entry[1]["body"]).get("state", {})


def walk_models(state: dict, model_id: str, seen=None):
    """Models reachable from ``model_id`` in display order (children first-to-last)."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in state:
        return
    seen.add(model_id)
    model = state[model_id]
    yield model
    for child in model.get("state", {}).get("children", []):
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            yield from walk_models(state, child.removeprefix("IPY_MODEL_"), seen)


def image_bytes(model: dict) -> bytes | None:
    for buffer in model.get("buffers", []):
        if buffer.get("path") == ["value"] and buffer.get("encoding") == "base64":
            return base64.b64decode(buffer["data"])
    return None


class WidgetSnapshots(SphinxTransform):
    """Replace each widget view (a script tag nobody will run) with a note and the images it held."""

    default_priority = 510

    def apply(self, **kwargs) -> None:
        views = [n for n in self.document.findall(nodes.raw) if WIDGET_VIEW in n.astext()[:200]]
        if not views:
            return
        state = widget_state(self.env, self.env.docname)
        for raw in views:
            raw.replace_self(self.snapshot(raw, state))
        # The snapshots carry what the page needs; no point shipping the saved state (with every
        # image again, base64) to a page that has no widget manager to read it.
        from myst_nb.sphinx_ import NbMetadataCollector

        NbMetadataCollector.get_js_files(self.env, self.env.docname).pop(WIDGET_STATE_KEY, None)

    def snapshot(self, raw: nodes.raw, state: dict) -> nodes.Element:
        text = raw.astext()
        view = json.loads(text[text.index(">") + 1:text.rindex("</script>")])
        box = nodes.container(classes=["lpft-widget-snapshot"])
        images, texts = [], []
        for model in walk_models(state, view.get("model_id", "")):
            name, values = model.get("model_name"), model.get("state", {})
            if name == "ImageModel" and (data := image_bytes(model)):
                images.append((data, values.get("tooltip") or ""))
            elif name in {"HTMLModel", "HTMLMathModel"} and values.get("value", "").strip():
                texts.append(values["value"])  # HTML our own lesson code produced during the build
        note = nodes.paragraph(classes=["lpft-widget-note"])
        if images:
            note += nodes.Text("Interactive demo: its controls work in Jupyter, Voila, Binder or Colab (see the launch "
                               "links at the top of the page). Below is its plot as drawn with the default "
                               "settings during the build.")
        else:
            note += nodes.Text("Interactive controls go here when the notebook runs in Jupyter, Voila, Binder or Colab "
                               "(see the launch links at the top of the page); a static page cannot run them.")
        box += note
        for text in texts:
            box += nodes.raw(text=f'<div class="lpft-widget-text">{text}</div>', format="html")
        for data, tooltip in images:
            box += nodes.image(uri=self.write_snapshot(data), alt=tooltip or self.fallback_alt(raw, snapshot=True))
        return box

    def write_snapshot(self, data: bytes) -> str:
        folder = Path(self.env.srcdir) / SNAPSHOT_DIR
        folder.mkdir(exist_ok=True)
        name = hashlib.sha256(data).hexdigest()[:20] + ".png"
        (folder / name).write_bytes(data)
        return f"/{SNAPSHOT_DIR}/{name}"

    def fallback_alt(self, node, snapshot: bool) -> str:
        return describe_figure(self.document, node, snapshot=snapshot)


# ---------------------------------------------------------------------------------------------
# Alt text.

def section_title(node) -> str:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.section):
            title = next(iter(parent.findall(nodes.title)), None)
            if title is not None:
                return title.astext()
        parent = parent.parent
    return ""


def describe_figure(document, node, snapshot: bool = False) -> str:
    section = section_title(node)
    where = f" in the section “{section}”" if section else ""
    if snapshot:
        return f"Plot of the interactive demo{where}, drawn with its default settings during the site build."
    return f"Figure drawn by the code cell above{where} (fast-mode run during the site build)."


class AltText(SphinxTransform):
    """Give every image without an alt text one that says what it is and where it comes from."""

    default_priority = 520

    def apply(self, **kwargs) -> None:
        for image in self.document.findall(nodes.image):
            if not image.get("alt", "").strip():
                image["alt"] = describe_figure(self.document, image)


# ---------------------------------------------------------------------------------------------
# Links and external images.

def external_images_to_text(document) -> None:
    for image in list(document.findall(nodes.image)):
        if image["uri"].startswith(("http://", "https://", "//")):
            image.replace_self(nodes.inline(text=image.get("alt") or "image"))


class ExternalImages(SphinxTransform):
    default_priority = 505

    def apply(self, **kwargs) -> None:
        external_images_to_text(self.document)


class RepositoryLinks(SphinxPostTransform):
    """Before MyST resolves its references (priority 9): a link to a repository file that is not a
    page of the site goes to the repository (the README to the home page)."""

    default_priority = 8

    def run(self, **kwargs) -> None:
        for xref in list(self.document.findall(addnodes.pending_xref)):
            if xref.get("reftype") != "myst" or xref.get("refdomain"):
                continue
            target = xref["reftarget"].split("#", 1)[0]
            if not target or "://" in target:
                continue
            doc_dir = (REPO / xref["refdoc"]).parent
            path = (doc_dir / target).resolve()
            if not path.is_relative_to(REPO) or not path.exists():
                continue  # a genuinely broken link: MyST warns and the build fails
            if path == REPO / "README.md":
                uri = self.app.builder.get_relative_uri(xref["refdoc"], self.config.root_doc)
            else:
                uri = repo_blob_url(self.config, path)
            reference = nodes.reference("", "", *xref.children, refuri=uri, internal=path == REPO / "README.md")
            xref.replace_self(reference)


# ---------------------------------------------------------------------------------------------

def copy_mathjax(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import jupyter_server_mathjax

    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(source, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.add_transform(LessonBanner)
    app.add_transform(ExternalImages)
    app.add_transform(WidgetSnapshots)
    app.add_transform(AltText)
    app.add_post_transform(RepositoryLinks)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
