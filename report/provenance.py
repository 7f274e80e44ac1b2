"""The provenance appendix: how the results and the
report were produced, for people and machines."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .results import Results
from .tables import md_table


def _renderer() -> str:
    return os.environ.get("RSA_RENDERER") or "not recorded (RSA_RENDERER unset)"


def provenance_table(res: Results) -> str:
    """Command, parameters, study file, code version,
    library versions and renderer behind the report."""
    m = res.manifest
    project = m.get("project") or {}
    commit = str(project.get("git_commit") or "unknown")
    if project.get("git_dirty"):
        commit += " (with uncommitted changes)"
    versions = ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items())
    parameters = ", ".join(f"{k} = {v}" for k, v in (m.get("parameters") or {}).items())
    study = m.get("study") or {}
    stages = (m.get("cache") or {}).get("stages") or {}
    computed = "; ".join(
        f"{stage}: {record.get('computed_at', '')}" for stage, record in stages.items()
    )
    rows = [
        ("Command", f"`{m.get('command', '')}`"),
        ("Study file", f"`{Path(study.get('path', '')).name}`, sha256 `{study.get('sha256', '')}`"),
        ("Parameters", parameters),
        ("Computed at", computed or m.get("computed_at", "")),
        ("Results key", f"`{(m.get('cache') or {}).get('key', '')}`"),
        ("Git commit", commit),
        ("Versions", versions),
        ("Results folder", f"`{res.path.name}`"),
        ("Rendered with", _renderer()),
    ]
    return md_table(["Item", "Value"], rows, widths=[22, 78])


def provenance_inputs_table(res: Results) -> str:
    """Every input file with its size and full sha256."""
    rows = [
        (f"`{Path(i['path']).name}`", f"{i['size']:,}", f"`{i['sha256']}`")
        for i in res.manifest.get("inputs", [])
    ]
    return md_table(["File", "Bytes", "SHA-256"], rows, align=["l", "r", "l"], widths=[30, 12, 58])


def provenance_metadata(res: Results) -> str:
    """The provenance facts as a JSON block in the HTML
    page (machine-readable; ignored in the PDF)."""
    m = res.manifest
    facts = {
        key: m.get(key)
        for key in (
            "title",
            "synthetic",
            "study",
            "inputs",
            "n_common_images",
            "parameters",
            "versions",
            "project",
            "command",
            "computed_at",
            "cache",
        )
    }
    facts["inputs"] = [
        {k: i.get(k) for k in ("role", "name", "path", "size", "sha256")}
        for i in m.get("inputs", [])
    ]
    facts["renderer"] = _renderer()
    payload = json.dumps(facts, ensure_ascii=True, sort_keys=True).replace("</", "<\\/")
    return (
        f'```{{=html}}\n<script type="application/json" id="rsa-provenance">{payload}</script>\n```'
    )
