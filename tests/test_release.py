"""Release files: CITATION.cff parses and says what CFF 1.2.0 requires, cites the paper, and agrees
with pyproject.toml and lpft_edu.launch; CHANGELOG.md states the tag scheme and has an Unreleased
section."""
import re
import tomllib

import yaml

from lpft_edu import launch
from lpft_edu.authoring import REPO


def citation() -> dict:
    data = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert isinstance(data, dict), "CITATION.cff is not a YAML mapping"
    return data


def test_citation_has_the_fields_cff_1_2_requires_and_the_package_version():
    data = citation()
    assert data["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors"):
        assert data.get(key), f"CITATION.cff lacks {key}"
    for author in data["authors"]:
        assert author.get("name") or author.get("family-names"), author
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert str(data["version"]) == project["version"]
    assert data["repository-code"] == launch.REPO_URL


def test_citation_cites_the_paper():
    [paper] = [r for r in citation()["references"] if "Distort Pretrained Features" in r["title"]]
    assert paper["title"] == "Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution"
    assert [a["family-names"] for a in paper["authors"]] == ["Kumar", "Raghunathan", "Jones", "Ma", "Liang"]
    assert paper["year"] == 2022 and "ICLR" in paper["conference"]["name"]


def test_changelog_states_the_tag_scheme_and_has_an_unreleased_section():
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "vMAJOR.MINOR.PATCH" in text
    assert re.search(r"^## \[Unreleased\]$", text, re.MULTILINE)
    for heading in re.findall(r"^## \[(.+?)\]", text, re.MULTILINE):
        assert heading == "Unreleased" or re.fullmatch(r"\d+\.\d+\.\d+", heading), heading
