"""`python -m analysis fetch`: against a real HTTP server on 127.0.0.1 that answers like Dryad's
API v2 (tests/fake_dryad.py): token exchange, a paged file list, Range requests, and faults."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from analysis import fetch as fetch_module
from analysis.__main__ import main
from tests.fake_dryad import CLIENT_ID, CLIENT_SECRET, TOKEN, FakeDryad, Server

ROOT = Path(__file__).resolve().parents[1]
DOI = "10.5061/dryad.test123"
NEEDED = ["S1.h5", "S2.h5", "net.h5"]


def _deposit(seed: int = 0) -> dict[str, bytes]:
    """Five files (three pages of two): the three the study needs and two it does not."""
    rng = __import__("numpy").random.default_rng(seed)
    sizes = {"S1.h5": 300_001, "S2.h5": 200_003, "net.h5": 150_007, "README.md": 99, "x.h5": 5}
    return {name: rng.bytes(size) for name, size in sizes.items()}


def _study(folder: Path, doi: str = DOI) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "study.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "title": "fetch test",
                "dataset": {"name": "test deposit", "doi": doi},
                "subjects": {"S1": "S1.h5", "S2": "S2.h5"},
                "networks": {"net": "net.h5"},
            }
        )
    )
    return path


@pytest.fixture
def dryad(monkeypatch):
    """A running fake Dryad with the client credentials set and fast backoff."""
    state = FakeDryad(DOI, _deposit())
    with Server(state) as server:
        monkeypatch.setenv("RSA_DRYAD_URL", server.url)
        monkeypatch.delenv("DRYAD_API_TOKEN", raising=False)
        monkeypatch.setenv("DRYAD_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("DRYAD_CLIENT_SECRET", CLIENT_SECRET)
        monkeypatch.setattr(fetch_module, "RETRY_BASE_SECONDS", 0.01)
        yield state


def _fetch(study: Path, capsys) -> tuple[int, str, str]:
    code = main(["fetch", str(study)])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err and CLIENT_SECRET not in out + err
    return code, out, err


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_fetches_only_the_study_files_through_every_page(dryad, tmp_path, capsys):
    study = _study(tmp_path / "data")
    code, out, _ = _fetch(study, capsys)
    assert code == 0
    folder = study.parent
    for name in NEEDED:
        assert (folder / name).read_bytes() == dryad.files[name]
    assert not (folder / "README.md").exists() and not (folder / "x.h5").exists()
    pages = [r[1] for r in dryad.requests if "/files" in r[1] and not r[1].endswith("download")]
    assert pages == [
        "/api/v2/versions/4711/files",
        "/api/v2/versions/4711/files?page=2",
        "/api/v2/versions/4711/files?page=3",
    ]
    assert [r[1] for r in dryad.requests if r[0] == "POST"] == ["/oauth/token"]
    assert len(dryad.downloads()) == 3
    assert "downloaded 3 file(s)" in out
    assert _leftovers(folder) == []
    stored = "".join(p.read_text(errors="ignore") for p in folder.iterdir() if p.suffix != ".h5")
    assert TOKEN not in stored and CLIENT_SECRET not in stored


def test_second_run_does_nothing_and_needs_no_credentials(dryad, tmp_path, capsys, monkeypatch):
    study = _study(tmp_path / "data")
    assert _fetch(study, capsys)[0] == 0
    before = len(dryad.downloads())
    monkeypatch.delenv("DRYAD_CLIENT_ID")
    monkeypatch.delenv("DRYAD_CLIENT_SECRET")
    code, out, _ = _fetch(study, capsys)
    assert code == 0
    assert len(dryad.downloads()) == before
    assert "3 file(s) already present and verified" in out
    # a file damaged on disk (same size) is found with --verify and fetched again
    monkeypatch.setenv("DRYAD_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("DRYAD_CLIENT_SECRET", CLIENT_SECRET)
    damaged = study.parent / "S2.h5"
    damaged.write_bytes(b"\0" * len(dryad.files["S2.h5"]))
    assert main(["fetch", str(study), "--verify"]) == 0
    assert damaged.read_bytes() == dryad.files["S2.h5"]
    assert len(dryad.downloads()) == before + 1


def test_a_cut_transfer_resumes_with_a_range_request(dryad, tmp_path, capsys):
    dryad.faults["S1.h5"] = "cut"
    study = _study(tmp_path / "data")
    code, _, _ = _fetch(study, capsys)
    assert code == 0
    assert (study.parent / "S1.h5").read_bytes() == dryad.files["S1.h5"]
    first, second = dryad.downloads("S1.h5")
    assert "Range" not in first[2]
    offset = int(second[2]["Range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < offset < len(dryad.files["S1.h5"])


def test_a_partial_file_left_by_an_earlier_run_is_resumed(dryad, tmp_path, capsys):
    study = _study(tmp_path / "data")
    part = study.parent / ".net.h5.part"
    part.write_bytes(dryad.files["net.h5"][:70_000])
    assert _fetch(study, capsys)[0] == 0
    (request,) = dryad.downloads("net.h5")
    assert request[2]["Range"] == "bytes=70000-"
    assert (study.parent / "net.h5").read_bytes() == dryad.files["net.h5"]


def test_a_wrong_digest_once_is_downloaded_again(dryad, tmp_path, capsys):
    dryad.faults["S2.h5"] = "corrupt-once"
    study = _study(tmp_path / "data")
    assert _fetch(study, capsys)[0] == 0
    assert (study.parent / "S2.h5").read_bytes() == dryad.files["S2.h5"]
    assert len(dryad.downloads("S2.h5")) == 2


def test_a_wrong_digest_fails_that_file_in_one_line(dryad, tmp_path, capsys):
    dryad.faults["S2.h5"] = "corrupt"
    study = _study(tmp_path / "data")
    code, _, err = _fetch(study, capsys)
    assert code == 1
    assert err.strip().splitlines() == [
        next(line for line in err.splitlines() if line.startswith("error: S2.h5: sha-256 digest"))
    ]
    assert not (study.parent / "S2.h5").exists() and _leftovers(study.parent) == []
    assert (study.parent / "S1.h5").exists() and (study.parent / "net.h5").exists()


def test_404_fails_that_file_and_the_others_arrive(dryad, tmp_path, capsys):
    dryad.faults["net.h5"] = "404"
    study = _study(tmp_path / "data")
    code, _, err = _fetch(study, capsys)
    assert code == 1
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        next(line for line in err.splitlines() if "net.h5: HTTP 404" in line)
    ]
    assert (study.parent / "S1.h5").exists() and not (study.parent / "net.h5").exists()


def test_an_unknown_doi_is_one_line(dryad, tmp_path, capsys):
    study = _study(tmp_path / "data", doi="10.5061/dryad.nothere")
    code, _, err = _fetch(study, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "HTTP 404" in err and "dataset.doi" in err


def test_a_refused_token_is_one_line_and_never_shown(dryad, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DRYAD_CLIENT_ID")
    monkeypatch.delenv("DRYAD_CLIENT_SECRET")
    monkeypatch.setenv("DRYAD_API_TOKEN", "expired-secret-token")
    study = _study(tmp_path / "data")
    code, out, err = _fetch(study, capsys)
    assert code == 1
    failed = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(failed) == 3 and all("HTTP 401" in line for line in failed)
    assert "expired-secret-token" not in out + err


def test_wrong_client_credentials_are_one_line(dryad, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DRYAD_CLIENT_SECRET", "wrong")
    code, _, err = _fetch(_study(tmp_path / "data"), capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "token exchange refused (HTTP 401)" in err and "wrong" not in err


def test_without_credentials_one_message_says_how_to_get_an_account(
    dryad, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("DRYAD_CLIENT_ID")
    code, _, err = _fetch(_study(tmp_path / "data"), capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "API account" in err and "DRYAD_CLIENT_ID" in err and "by hand" in err
    assert dryad.downloads() == []


def test_429_waits_as_retry_after_says(dryad, tmp_path, capsys):
    dryad.faults["S1.h5"] = "429"
    dryad.retry_after = "1"
    study = _study(tmp_path / "data")
    start = time.monotonic()
    assert _fetch(study, capsys)[0] == 0
    assert time.monotonic() - start >= 1.0
    assert len(dryad.downloads("S1.h5")) == 2
    assert (study.parent / "S1.h5").read_bytes() == dryad.files["S1.h5"]


def test_5xx_is_retried(dryad, tmp_path, capsys):
    dryad.faults["net.h5"] = "500-once"
    study = _study(tmp_path / "data")
    assert _fetch(study, capsys)[0] == 0
    assert len(dryad.downloads("net.h5")) == 2


def test_a_full_disk_stops_before_the_first_byte(dryad, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(fetch_module, "free_bytes", lambda _folder: 400_000)
    study = _study(tmp_path / "data")
    code, _, err = _fetch(study, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "the download needs 0.7 MB and only 0.4 MB are free" in err
    assert dryad.downloads() == []
    assert sorted(p.name for p in study.parent.iterdir()) == ["study.yml"]


def test_the_retry_after_header_reads_seconds_and_dates():
    assert fetch_module._retry_after("7") == 7.0
    assert fetch_module._retry_after(None) is None
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= fetch_module._retry_after(later) <= 31


def test_demo_files_fetched_then_analysed_from_the_command_line(tmp_path):
    """From a study file alone, `fetch` then `run` (as `make data` then `make report`)."""
    from analysis.demo import write_demo

    source = write_demo(tmp_path / "deposit", n_images=40)
    raw = yaml.safe_load(source.read_text())
    files = {p.name: p.read_bytes() for p in source.parent.glob("*.h5")}
    raw["dataset"] = {"name": "demo deposit", "doi": DOI}
    target = tmp_path / "clone" / "data"
    target.mkdir(parents=True)
    (target / "study.yml").write_text(yaml.safe_dump(raw))
    state = FakeDryad(DOI, files, faults={sorted(files)[0]: "cut"})
    env = {
        **os.environ,
        "DRYAD_CLIENT_ID": CLIENT_ID,
        "DRYAD_CLIENT_SECRET": CLIENT_SECRET,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DRYAD_API_TOKEN", None)
    with Server(state) as server:
        env["RSA_DRYAD_URL"] = server.url
        fetched = subprocess.run(
            [sys.executable, "-m", "analysis", "fetch", str(target / "study.yml")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert fetched.returncode == 0, fetched.stderr
    assert TOKEN not in fetched.stdout + fetched.stderr
    assert {p.name: p.read_bytes() for p in target.glob("*.h5")} == files
    run = subprocess.run(
        [sys.executable, "-m", "analysis", "run", str(target / "study.yml")]
        + ["--out", str(tmp_path / "results"), "--samples", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "results" / "joint.csv").is_file()
