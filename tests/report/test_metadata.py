"""The paper's metadata (report/_metadata.yml): loaded in Quarto's schema, cited, and kept equal
to CITATION.cff."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from report.metadata import (
    bibtex,
    cff_differences,
    citation_text,
    load_paper,
    write_cff,
)

ROOT = Path(__file__).resolve().parents[2]
MINE = """\
title: "My RSA report"
subtitle: "Layers and cortex"
author:
  - name: Jane Q. Doe
    orcid: https://orcid.org/0000-0002-1825-0097
    email: jane.doe@example.org
    affiliations:
      - name: Example University
      - Brain Institute
  - name: {given: John, family: Roe}
    affiliation: Other Institute
keywords: [RSA, BOLD5000]
license: CC BY 4.0
doi: https://doi.org/10.5281/zenodo.1234567
citation:
  type: report
  url: https://jane.github.io/rsa/
"""


def _paper(tmp_path: Path):
    path = tmp_path / "_metadata.yml"
    path.write_text(MINE, encoding="utf-8")
    return load_paper(path)


def test_citation_cff_says_what_the_metadata_says():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff_differences(load_paper(ROOT / "report" / "_metadata.yml"), cff) == []


def test_quarto_schema_is_read(tmp_path):
    paper = _paper(tmp_path)
    jane, john = paper.authors
    assert (jane.name, jane.orcid, jane.email) == (
        "Jane Q. Doe",
        "0000-0002-1825-0097",
        "jane.doe@example.org",
    )
    assert jane.affiliations == ("Example University", "Brain Institute")
    assert (john.name, john.affiliations) == ("John Roe", ("Other Institute",))
    assert paper.doi == "10.5281/zenodo.1234567" and paper.license == "CC BY 4.0"
    assert paper.full_title == "My RSA report: Layers and cortex"


def test_citation_text_and_bibtex_name_the_authors_and_doi(tmp_path):
    paper = _paper(tmp_path)
    text = citation_text(paper, "2026", "0.2.0")
    assert text.startswith("Doe, J. Q. & Roe, J. (2026). *My RSA report: Layers and cortex*.")
    assert "<https://doi.org/10.5281/zenodo.1234567>" in text
    entry = bibtex(paper, "2026", version="0.2.0")
    assert "@techreport{doe2026," in entry
    assert "author   = {Doe, Jane Q. and Roe, John}" in entry
    assert "doi      = {10.5281/zenodo.1234567}" in entry
    assert "url      = {https://jane.github.io/rsa/}" in entry


def test_write_cff_keeps_references_and_a_change_is_caught(tmp_path):
    cff_path = tmp_path / "CITATION.cff"
    shutil.copy(ROOT / "CITATION.cff", cff_path)
    paper = _paper(tmp_path)
    before = yaml.safe_load(cff_path.read_text())
    assert set(cff_differences(paper, before)) >= {"authors", "title", "doi"}
    write_cff(paper, cff_path)
    after = yaml.safe_load(cff_path.read_text())
    assert cff_differences(paper, after) == []
    assert after["references"] == before["references"] and after["version"] == before["version"]
    assert after["authors"][0] == {
        "family-names": "Doe",
        "given-names": "Jane Q.",
        "orcid": "https://orcid.org/0000-0002-1825-0097",
        "email": "jane.doe@example.org",
        "affiliation": "Example University; Brain Institute",
    }
    assert after["doi"] == "10.5281/zenodo.1234567" and after["license"] == "CC BY 4.0"


def test_quarto_does_not_take_the_first_heading_for_the_title():
    """Quarto's Jupyter engine makes a document's first heading its title when the front matter
    has no title and nothing precedes the heading in its markdown cell. The title lives in
    report/_metadata.yml, so index.qmd keeps markdown (a comment) just before its first heading."""
    text = (ROOT / "report" / "index.qmd").read_text(encoding="utf-8")
    front, body = text.split("\n---\n", 1)
    assert "title:" not in yaml.safe_load(front.removeprefix("---\n"))
    lines, fenced = body.splitlines(), False
    for number, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("# "):
            before = [x for x in lines[:number] if x.strip()][-1]
            assert not before.startswith("```"), f"nothing but a cell before {line!r}"
            break


def test_how_to_cite_uses_the_users_title_or_else_the_studys(tmp_path, monkeypatch):
    """A title set in report/_metadata.yml is the paper's; without one, the study's title (and its
    data set) name the report, so a report of any study never carries another study's title."""
    from report import paper as paper_module
    from report.results import load_results
    from tests.report.mock_results import write_mock_results

    res = load_results(write_mock_results(tmp_path / "results"))
    mine = _paper(tmp_path)
    monkeypatch.setattr(paper_module, "load_paper", lambda: mine)
    assert "*My RSA report: Layers and cortex*" in paper_module.how_to_cite(res)

    untitled = type(mine)(**{**mine.__dict__, "title": "", "subtitle": ""})
    monkeypatch.setattr(paper_module, "load_paper", lambda: untitled)
    text = paper_module.how_to_cite(res)
    assert f"*{' '.join(res.manifest['title'].split())}: A representational similarity" in text
    assert "My RSA report" not in text
