"""Both renderers through `tools/render.py`: the qmdrender fallback always, real Quarto when
it is on PATH (`.ci/run` installs it from ../shared/quarto when that exists). They must
produce the same report (sections, figures, tables and their numbers), a page that works at
desktop and phone widths, a PDF, and leave the working tree as clean as they found it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.browser import layout_facts
from tests.e2e.html_structure import structure
from tests.helpers import analysed

ROOT = Path(__file__).resolve().parents[2]
QUARTO = shutil.which("quarto")
needs_quarto = pytest.mark.skipif(
    QUARTO is None,
    reason="Quarto is not on PATH (.ci/run installs it when ../shared/quarto exists)",
)
RENDERERS = ["qmdrender", pytest.param("quarto", marks=needs_quarto)]
DESKTOP, PHONE = 1400, 390


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=folder, check=True, capture_output=True, text=True
    ).stdout


def checkout(target: Path) -> Path:
    """The project's files as git sees them (tracked and
    new, not ignored), committed in a fresh repository."""
    try:
        names = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split(
            "\0"
        )
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("the project is not a git checkout")
    for name in filter(None, names):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(
        target,
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@example.org",
        "commit",
        "-q",
        "-m",
        "checkout",
    )
    return target


def render(
    project: Path, results: Path, renderer: str, path: str | None = None
) -> subprocess.CompletedProcess:
    """`tools/render.py` of the checkout, as `make render` runs it."""
    env = {**os.environ, "PATH": path} if path else None
    return subprocess.run(
        [sys.executable, "tools/render.py", "--results", str(results), "--renderer", renderer],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )


def path_with_a_wrong_python(folder: Path) -> str:
    """PATH with a `python3` and `python` first that
    cannot run anything: the cells must not need them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("python3", "python"):
        (folder / name).write_text(
            "#!/bin/sh\necho 'not the project python' >&2\nexit 1\n", encoding="utf-8"
        )
        (folder / name).chmod(0o755)
    return os.pathsep.join([str(folder), os.environ.get("PATH", "")])


@pytest.fixture(scope="module")
def results(demo_master, tmp_path_factory) -> Path:
    """The demo analysed with a small bootstrap."""
    return analysed(
        demo_master / "study.yml", tmp_path_factory.mktemp("results") / "demo", samples=40
    )


@pytest.fixture(scope="module")
def renders(results, tmp_path_factory):
    """Render a fresh checkout with the named renderer,
    once per module: (name, checkout, completed render)."""
    done: dict[str, tuple[str, Path, subprocess.CompletedProcess]] = {}

    def rendered_with(name: str) -> tuple[str, Path, subprocess.CompletedProcess]:
        if name not in done:
            folder = tmp_path_factory.mktemp(name)
            project = checkout(folder / "project")
            done[name] = (
                name,
                project,
                render(project, results, name, path_with_a_wrong_python(folder / "bin")),
            )
        return done[name]

    return rendered_with


@pytest.fixture(params=RENDERERS)
def rendered(request, renders) -> tuple[str, Path, subprocess.CompletedProcess]:
    """Each renderer's render of the demo results."""
    return renders(request.param)


def html_of(rendered) -> str:
    name, project, proc = rendered
    assert proc.returncode == 0, f"{name}: {proc.stderr[-3000:]}"
    return (project / "_output" / "index.html").read_text(encoding="utf-8")


def test_render_writes_both_outputs_and_leaves_the_tree_clean(rendered):
    name, project, proc = rendered
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines()[0].startswith(
        "rendering with " + ("Quarto" if name == "quarto" else "qmdrender")
    )
    assert sorted(p.name for p in (project / "_output").iterdir()) == [
        ".render-key",
        "index.html",
        "index.pdf",
    ]
    assert git(project, "status", "--porcelain", "--untracked-files=all") == "", (
        "render changed the working tree"
    )
    leftovers = [
        p.name
        for p in project.iterdir()
        if p.name in (".quarto", ".qmdrender") or ".partial-" in p.name
    ]
    assert leftovers == []
    assert not list((project / "report").glob("*_files")) and not list(
        project.rglob("*.quarto_ipynb")
    )


@needs_quarto
def test_quarto_runs_the_cells_in_this_python(renders):
    """QUARTO_PYTHON: the python3 first on PATH cannot
    run cells, yet Quarto renders (in this venv)."""
    _, project, proc = renders("quarto")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not the project python" not in proc.stderr


@needs_quarto
def test_both_renderers_show_the_same_report(renders):
    pages = {}
    for name in ("qmdrender", "quarto"):
        page = structure(html_of(renders(name)))
        renderer_line = renders(name)[2].stdout.splitlines()[0].removeprefix("rendering with ")
        # The provenance table names the renderer: the one row that may differ.
        page.tables = [
            [row for row in table if not any(renderer_line in cell for cell in row)]
            for table in page.tables
        ]
        pages[name] = page
    fallback, quarto = pages["qmdrender"], pages["quarto"]
    assert fallback.headings and fallback.headings == quarto.headings
    assert fallback.figures > 0 and fallback.figures == quarto.figures
    assert fallback.captions == quarto.captions
    assert len(fallback.tables) == len(quarto.tables) > 0
    assert fallback.table_numbers() == quarto.table_numbers()


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_page_works_at_desktop_and_phone_width(rendered, width, tmp_path):
    html_of(rendered)
    name, project, _ = rendered
    facts = layout_facts(project / "_output" / "index.html", width, tmp_path)
    assert facts["innerWidth"] == width
    assert facts["scrollWidth"] <= facts["innerWidth"], (
        f"{name} is wider than the screen: {facts['overflowing']}"
    )
    assert facts["overflowing"] == []
    assert facts["citationLinks"] > 0 and facts["citationLinksWithoutTarget"] == 0, (
        "citations link to the references"
    )
    assert facts["images"] > 0 and facts["decoded"] == facts["images"]
    assert facts["remote"] == [] and facts["errors"] == []
    assert facts["enlarged"], f"{name}: clicking a figure does not enlarge it"


def test_pdf_renders_with_the_title_on_page_one(rendered, tmp_path):
    page = html_of(rendered)
    _, project, _ = rendered
    pdf = project / "_output" / "index.pdf"
    title = " ".join(
        re.sub(
            r"<[^>]+>", "", re.search(r'<h1 class="title[^"]*">(.*?)</h1>', page, re.S).group(1)
        ).split()
    )
    first = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert title in " ".join(first.stdout.split())
    subprocess.run(
        ["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "3", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    assert len(list(tmp_path.glob("page-*.png"))) == 3


@needs_quarto
def test_quarto_failure_is_one_line_and_keeps_the_previous_report(renders, results, tmp_path):
    _, project, _ = renders("quarto")
    before = (project / "_output" / "index.html").read_bytes()
    broken = Path(shutil.copytree(results, tmp_path / "broken"))
    (broken / "manifest.json").write_text("{", encoding="utf-8")
    proc = render(project, broken, "quarto")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: report/index.qmd: cell "), proc.stderr
    assert "manifest.json" in errors[0] and "Traceback" not in proc.stderr
    assert (project / "_output" / "index.html").read_bytes() == before
    assert git(project, "status", "--porcelain", "--untracked-files=all") == ""


def test_asking_for_quarto_without_it_is_one_line(results, tmp_path):
    project = checkout(tmp_path / "project")
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if not (Path(p) / "quarto").exists()
    )
    proc = subprocess.run(
        [sys.executable, "tools/render.py", "--results", str(results), "--renderer", "quarto"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": path},
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == "error: quarto: not found on PATH (install Quarto, or use --renderer qmdrender)"
    )
