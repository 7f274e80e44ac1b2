"""Words for names the study gives (escaped so that Markdown, LaTeX, typst and HTML print them as
written) and for extremes that several items share (ties said as they are, never the first one)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

#: ASCII punctuation that Markdown (with pandoc's extensions: smart quotes, citations, maths, raw
#: HTML) can read as syntax anywhere in a line; pandoc takes each one literally after a backslash,
#: and its HTML, LaTeX and typst writers then escape it for their own syntax. '-' and '.' are syntax
#: only when repeated ('--' is a dash, '...' an ellipsis) or at the start of a line, where names
#: never are.
_SYNTAX = re.compile(r"""([\\`*_{}\[\]<>#+!|$@~^&"'=]|(?<=-)-|(?<=\.)\.)""")


def md(name: object) -> str:
    """A study-given name (title, subject, atlas, ROI, network, layer) as literal Markdown text:
    '*', '_', '#', '<', '&', '$', '@', '[', '|' and the rest print as themselves in every output;
    line breaks become spaces."""
    text = " ".join(str(name).split())
    return _SYNTAX.sub(r"\\\1", text)


def join(items: Iterable[str], word: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 ROI', '3 ROIs'."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def extremes(values: Sequence[float], largest: bool = True) -> list[int]:
    """Positions of every value equal to the largest (or smallest) finite value, in order; empty
    when no value is finite. Ties are exact (values read from one table), not within noise."""
    array = np.asarray(values, dtype=float)
    finite = np.isfinite(array)
    if not finite.any():
        return []
    best = np.max(array[finite]) if largest else np.min(array[finite])
    return [int(k) for k in np.flatnonzero(finite & (array == best))]


def shared(names: Sequence[str], total: int, what: str) -> str:
    """'CSI1' for one name; 'all 4 files' when every one of `total` shares it; else 'CSI1 and CSI2'
    (`what` names the items, plural: 'files', 'ROIs')."""
    names = list(names)
    if len(names) == 1:
        return names[0]
    if len(names) == total:
        return f"all {total} {what}" if total > 2 else f"both {what}"
    return join(names)


_HEMISPHERE = (
    re.compile(r"^(?P<side>lh|rh|left|right)[_\-. ]?(?P<area>.+)$", re.IGNORECASE),
    re.compile(r"^(?P<side>l|r)[_\-. ](?P<area>.+)$", re.IGNORECASE),
    re.compile(r"^(?P<area>.+?)[_\-. ](?P<side>lh|rh|left|right|l|r)$", re.IGNORECASE),
)


def split_hemisphere(roi: str) -> tuple[str, str] | None:
    """('L' or 'R', area) when an ROI name marks its hemisphere ('LHPPA', 'lh_V1', 'L_FFA',
    'V1_rh'), else None; a lone 'L' or 'R' counts only before or after a separator ('LOC' is no
    hemisphere)."""
    for pattern in _HEMISPHERE:
        match = pattern.match(roi)
        if match:
            return match.group("side").upper()[0], match.group("area")
    return None


def document_metadata(manifest: dict) -> dict[str, str]:
    """The title block from a results folder's manifest, as literal strings (for `-M KEY:VALUE`):
    the study's title, and a subtitle that names the data set where the study's `dataset` does."""
    dataset = (manifest.get("study") or {}).get("dataset") or {}
    name = str(dataset.get("name") or "").strip() if isinstance(dataset, dict) else ""
    subtitle = "A representational similarity analysis" + (f" of {name}" if name else "")
    title = " ".join(str(manifest.get("title") or "RSA report").split())
    return {"title": title, "subtitle": " ".join(subtitle.split())}


def noun(res, many: bool = False) -> str:
    """What the non-brain RDMs are: 'layer' (networks of layers in depth order), 'model' (sets of
    models, `ordered: false`), or 'layer or model' when the study has both."""
    ordered, unordered = bool(res.ordered_networks), bool(res.unordered_networks())
    word = "layer or model" if ordered and unordered else "model" if unordered else "layer"
    return word.replace("layer", "layers").replace("model", "models") if many else word
