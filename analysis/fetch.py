"""`python -m analysis fetch STUDY`: download the files a study names from its Dryad deposit.

The deposit is the study's `dataset.doi`, read through Dryad's API v2: the dataset by DOI, its
latest version, that version's file list (every page), and each file's `path`, `size`,
`digest`, `digestType` and `stash:download` link. Only the files the study names are fetched,
and only those missing or wrong. A file is written to `.NAME.part` beside its target, resumed with
an HTTP Range request after a cut, and renamed to NAME only once its size and digest match.

Library: httpx (rather than requests or pooch): streaming with timeouts by default, it drops the
Authorization header on a redirect to another host (Dryad redirects downloads to its storage),
and pooch cannot resume a partial file with Range.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin

from .errors import AnalysisError
from .reading.study import Study, load_study

DEFAULT_SITE = "https://datadryad.org"
SITE_VARIABLE = "RSA_DRYAD_URL"
TOKEN_VARIABLE = "DRYAD_API_TOKEN"
CLIENT_VARIABLES = ("DRYAD_CLIENT_ID", "DRYAD_CLIENT_SECRET")
ACCOUNT_HELP = (
    "Dryad's file downloads need an API account: log in at https://datadryad.org with ORCID, "
    "create an API account on your 'My account' page, then set DRYAD_CLIENT_ID and "
    "DRYAD_CLIENT_SECRET (or DRYAD_API_TOKEN, a token from that page; it lasts 10 hours) and run "
    "this again. Or download the files by hand from the deposit's page into the study's folder: "
    "this command then only checks them."
)
RECORD = ".fetched.json"  # name -> size, mtime_ns, digest of files this command verified
HEADROOM = 1.05  # keep 5% of the needed space free
ATTEMPTS = 6  # per request: the first try and five retries
RETRY_BASE_SECONDS = 2.0  # backoff: 2, 4, 8, 16, 32 s unless the server says Retry-After
RETRY_MAX_SECONDS = 300.0
CHUNK = 1 << 20
HASHES = {"sha-256": "sha256", "sha256": "sha256", "md5": "md5", "sha-1": "sha1", "sha1": "sha1"}


@dataclass(frozen=True)
class RemoteFile:
    """One file of a Dryad version: its name, size in bytes, digest and download address."""

    path: str
    size: int
    digest: str
    digest_type: str
    download: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class Outcome:
    """What `fetch` did: file names downloaded, already present, and failed (name, reason)."""

    downloaded: list[str]
    present: list[str]
    failed: list[tuple[str, str]]


class FetchError(Exception):
    """One file could not be fetched; the message is the reason, one line."""


class _TransientError(Exception):
    """A transient failure worth another try after `delay` seconds (None: use the backoff)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


def site_url() -> str:
    """The Dryad site root: RSA_DRYAD_URL (a mirror, or a test server) or datadryad.org."""
    return (os.environ.get(SITE_VARIABLE) or DEFAULT_SITE).rstrip("/")


def free_bytes(folder: Path) -> int:
    """Free space on the file system holding `folder` (tests replace this)."""
    return shutil.disk_usage(folder).free


def wanted_files(study: Study) -> dict[str, Path]:
    """The files the study names, by file name, each with the path it must have."""
    wanted: dict[str, Path] = {}
    for _role, _name, _atlas, path in study.files():
        wanted.setdefault(path.name, path)
    return wanted


def fetch(
    study_path: str | Path,
    verify: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Outcome:
    """Download the study's missing or wrong files from its dataset's Dryad deposit.

    Parameters
    ----------
    study_path : the study file; its `dataset.doi` names the deposit.
    verify : rehash every present file instead of trusting a size and time it was verified at.
    progress : show a progress bar (bytes, rate, time left) on stderr.
    log : where the summary lines go.

    Returns
    -------
    Outcome with the files downloaded, already present and failed.
    """
    import httpx

    study = load_study(study_path)
    doi = study.dataset.doi
    if not doi:
        raise AnalysisError(
            study.path,
            "the study's dataset section has no doi: fetch downloads from a Dryad DOI "
            "(dataset: {doi: 10.5061/dryad....})",
        )
    wanted = wanted_files(study)
    site = site_url()
    credentials = Credentials(site)
    with httpx.Client(
        timeout=httpx.Timeout(60.0, connect=30.0),
        follow_redirects=True,
        headers={"User-Agent": "bold5000-resnet-rsa fetch", "Accept": "application/json"},
    ) as client:
        session = Session(client, site, credentials)
        remote = {f.name: f for f in list_files(session, doi)}
        record = _Record(study.path.parent / RECORD)
        todo: list[tuple[RemoteFile, Path]] = []
        outcome = Outcome([], [], [])
        for name, target in wanted.items():
            if name not in remote:
                outcome.failed.append((name, f"not in the deposit doi:{doi} (latest version)"))
            elif record.verified(target, remote[name], rehash=verify):
                outcome.present.append(name)
            else:
                todo.append((remote[name], target))
        if todo:
            credentials.require()
            _check_space(todo)
            _download_all(session, todo, record, outcome, progress)
    _summarise(outcome, doi, log)
    return outcome


def _summarise(outcome: Outcome, doi: str, log: Callable[[str], None]) -> None:
    if outcome.downloaded:
        log(f"downloaded {len(outcome.downloaded)} file(s) from doi:{doi}, size and digest checked")
    if outcome.present:
        log(f"{len(outcome.present)} file(s) already present and verified: nothing to do for them")


class Credentials:
    """The bearer token: DRYAD_API_TOKEN, or one exchanged for DRYAD_CLIENT_ID/SECRET.

    The token lives in this object only: never printed, logged or written to disk.
    """

    def __init__(self, site: str) -> None:
        self.site = site
        self._token = os.environ.get(TOKEN_VARIABLE) or None
        ids = [os.environ.get(v) or "" for v in CLIENT_VARIABLES]
        self._client = tuple(ids) if all(ids) else None
        self.exchanged = False

    @property
    def available(self) -> bool:
        return bool(self._token or self._client)

    @property
    def renewable(self) -> bool:
        return self._client is not None

    def require(self) -> None:
        if not self.available:
            raise AnalysisError(
                "Dryad", f"no credentials ({TOKEN_VARIABLE} is unset). {ACCOUNT_HELP}"
            )

    def header(self, client) -> dict[str, str]:
        """The Authorization header (exchanging client credentials the first time)."""
        if self._token is None and self._client is not None:
            self._token = self._exchange(client)
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    def renew(self, client) -> bool:
        """Exchange the client credentials for a new token (after a 401); False if impossible."""
        if self._client is None:
            return False
        self._token = self._exchange(client)
        return True

    def _exchange(self, client) -> str:
        import httpx

        client_id, secret = self._client  # type: ignore[misc]
        try:
            response = client.post(
                f"{self.site}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            )
        except httpx.HTTPError as err:
            raise AnalysisError(
                f"{self.site}/oauth/token", f"token exchange failed ({err})"
            ) from None
        if response.status_code != 200:
            raise AnalysisError(
                f"{self.site}/oauth/token",
                f"token exchange refused (HTTP {response.status_code}): check DRYAD_CLIENT_ID and "
                "DRYAD_CLIENT_SECRET",
            )
        try:
            token = response.json()["access_token"]
        except (ValueError, KeyError, TypeError):
            raise AnalysisError(
                f"{self.site}/oauth/token", "no access_token in the answer"
            ) from None
        self.exchanged = True
        return str(token)


@dataclass
class Session:
    """An HTTP client, the site root and the credentials, with retries on 429 and 5xx."""

    client: object
    site: str
    credentials: Credentials

    def absolute(self, href: str) -> str:
        return urljoin(self.site + "/", href)

    def get_json(self, href: str) -> dict:
        """GET an API document (with the token when there is one); errors name the address."""
        url = self.absolute(href)
        response = self._with_retries(url, lambda: self._get(url, {}))
        if response.status_code == 404:
            raise AnalysisError(url, "not found (HTTP 404): check the study's dataset.doi")
        if response.status_code == 401:
            raise AnalysisError(url, f"unauthorised (HTTP 401). {ACCOUNT_HELP}")
        if response.status_code != 200:
            raise AnalysisError(url, f"HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise AnalysisError(
                url, "the answer is not JSON: is RSA_DRYAD_URL a Dryad site?"
            ) from None

    def _get(self, url: str, headers: dict[str, str]):
        auth = self.credentials.header(self.client) if self.credentials.available else {}
        return self.client.get(url, headers={**headers, **auth})

    def _with_retries(self, url: str, request: Callable):
        import httpx

        for attempt in range(ATTEMPTS):
            try:
                response = request()
            except httpx.TransportError as err:
                if attempt == ATTEMPTS - 1:
                    raise AnalysisError(url, f"cannot connect ({err})") from None
                _sleep(None, attempt)
                continue
            if not _transient(response.status_code) or attempt == ATTEMPTS - 1:
                return response
            _sleep(_retry_after(response.headers.get("Retry-After")), attempt)
        raise AssertionError("unreachable")


def list_files(session: Session, doi: str) -> list[RemoteFile]:
    """Every file of the latest version of the dataset with this DOI (all pages of the list)."""
    encoded = quote(f"doi:{doi}", safe="")
    dataset = session.get_json(f"/api/v2/datasets/{encoded}")
    version_href = _link(dataset, "stash:version")
    if version_href is None:
        raise AnalysisError(
            session.absolute(f"/api/v2/datasets/{encoded}"), "no stash:version link"
        )
    version = session.get_json(version_href)
    page: str | None = _link(version, "stash:files") or version_href.rstrip("/") + "/files"
    files: list[RemoteFile] = []
    seen: set[str] = set()
    while page and page not in seen:
        seen.add(page)
        listing = session.get_json(page)
        for entry in (listing.get("_embedded") or {}).get("stash:files") or []:
            href = _link(entry, "stash:download")
            if href is None or entry.get("status") == "deleted":
                continue
            files.append(
                RemoteFile(
                    path=str(entry.get("path", "")),
                    size=int(entry.get("size") or 0),
                    digest=str(entry.get("digest") or "").lower(),
                    digest_type=str(entry.get("digestType") or "").lower(),
                    download=session.absolute(href),
                )
            )
        page = _link(listing, "next")
    return files


def _link(document: dict, relation: str) -> str | None:
    link = (document.get("_links") or {}).get(relation)
    href = link.get("href") if isinstance(link, dict) else None
    return str(href) if href else None


def _transient(status: int) -> bool:
    return status == 429 or 500 <= status < 600


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), None when absent."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _sleep(delay: float | None, attempt: int) -> None:
    wait = RETRY_BASE_SECONDS * 2**attempt if delay is None else delay
    time.sleep(min(wait, RETRY_MAX_SECONDS))


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.part")


def _check_space(todo: list[tuple[RemoteFile, Path]]) -> None:
    """Stop before the first byte when a folder cannot hold what is still to come."""
    needed: dict[Path, int] = {}
    for remote, target in todo:
        have = _size(_partial(target))
        folder = target.parent
        needed[folder] = needed.get(folder, 0) + max(remote.size - have, 0)
    for folder, size in needed.items():
        folder.mkdir(parents=True, exist_ok=True)
        free = free_bytes(folder)
        if size * HEADROOM > free:
            raise AnalysisError(
                folder,
                f"the download needs {_amount(size)} and only {_amount(free)} are free "
                "there; free some space and run again",
            )


def _amount(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e8 else f"{size / 1e6:.1f} MB"


def _download_all(
    session: Session,
    todo: list[tuple[RemoteFile, Path]],
    record: _Record,
    outcome: Outcome,
    progress: bool,
) -> None:
    from tqdm import tqdm

    total = sum(remote.size for remote, _ in todo)
    already = sum(_size(_partial(target)) for _, target in todo)
    with tqdm(
        total=total,
        initial=already,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=not progress or None,
        file=sys.stderr,
        dynamic_ncols=True,
    ) as bar:
        for index, (remote, target) in enumerate(todo, start=1):
            bar.set_description(f"{index}/{len(todo)} {remote.name}")
            try:
                _download(session, remote, target, bar.update)
            except FetchError as err:
                outcome.failed.append((remote.name, str(err)))
                continue
            record.remember(target, remote)
            outcome.downloaded.append(remote.name)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _download(session: Session, remote: RemoteFile, target: Path, advance: Callable) -> None:
    """Fetch one file into its partial file, resuming, retrying; rename once size and digest match.

    A digest mismatch restarts the file from its first byte once; a second mismatch fails it.
    """
    partial = _partial(target)
    for restart in range(2):
        for attempt in range(ATTEMPTS):
            try:
                _transfer(session, remote, partial, advance)
                break
            except _TransientError as transient:
                if attempt == ATTEMPTS - 1:
                    raise FetchError(f"{transient} (gave up after {ATTEMPTS} tries)") from None
                _sleep(transient.delay, attempt)
        size = partial.stat().st_size
        if size != remote.size:
            partial.unlink(missing_ok=True)
            advance(-size)
            raise FetchError(f"received {size} bytes, Dryad lists {remote.size}")
        problem = _digest_problem(partial, remote)
        if problem is None:
            os.replace(partial, target)
            return
        partial.unlink(missing_ok=True)
        advance(-size)
        if restart == 1:
            raise FetchError(f"{problem}; the download was removed, run again to retry")


def _transfer(session: Session, remote: RemoteFile, partial: Path, advance: Callable) -> None:
    """Append the rest of the file to `partial` (a Range request when part of it is there)."""
    import httpx

    have = _size(partial)
    if have > remote.size:
        partial.unlink()
        advance(-have)
        have = 0
    if have == remote.size:
        return
    headers = {"Accept": "*/*", "Accept-Encoding": "identity"}  # Range counts stored bytes
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        auth = session.credentials.header(session.client)
        with session.client.stream("GET", remote.download, headers={**headers, **auth}) as response:
            status = response.status_code
            if status == 401 and session.credentials.renew(session.client):
                raise _TransientError("HTTP 401, token renewed", delay=0.0)
            if status == 401:
                raise FetchError(f"HTTP 401 unauthorised: the token was refused. {ACCOUNT_HELP}")
            if status == 403:
                raise FetchError("HTTP 403 forbidden: this account may not download the file")
            if status == 404:
                raise FetchError(f"HTTP 404: not found at {remote.download}")
            if status == 416:
                partial.unlink(missing_ok=True)
                advance(-have)
                raise _TransientError(
                    "HTTP 416: the partial file did not fit, starting again", delay=0.0
                )
            if _transient(status):
                raise _TransientError(
                    f"HTTP {status}", _retry_after(response.headers.get("Retry-After"))
                )
            if status not in (200, 206):
                raise FetchError(f"HTTP {status} from {remote.download}")
            mode = "ab" if status == 206 and _resumes_at(response, have) else "wb"
            if mode == "wb" and have:
                advance(-have)
            with open(partial, mode) as out:
                for chunk in response.iter_raw():  # as the bytes arrive, so a cut keeps them
                    out.write(chunk)
                    advance(len(chunk))
    except httpx.TransportError as err:
        raise _TransientError(f"connection lost ({type(err).__name__})") from None


def _resumes_at(response, offset: int) -> bool:
    """True when a 206 answer's Content-Range starts where the partial file ends."""
    content_range = response.headers.get("Content-Range", "")
    try:
        return int(content_range.split()[1].split("-")[0]) == offset
    except (IndexError, ValueError):
        return False


def _digest_problem(path: Path, remote: RemoteFile) -> str | None:
    """None when the file's digest is the one Dryad lists (or Dryad lists none), else why not."""
    if not remote.digest:
        return None
    algorithm = HASHES.get(remote.digest_type)
    if algorithm is None:
        return f"unknown digestType {remote.digest_type!r}"
    actual = file_digest(path, algorithm)
    if actual != remote.digest:
        return (
            f"{remote.digest_type} digest mismatch: got {actual[:16]}…, "
            f"Dryad lists {remote.digest[:16]}…"
        )
    return None


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """The hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Record:
    """Files this command verified: name -> size, mtime_ns and the digest they matched.

    A second run trusts a file whose size and modification time are those recorded against the
    digest Dryad still lists; `--verify` rehashes instead. Holds no secret.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.entries: dict[str, dict] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def verified(self, target: Path, remote: RemoteFile, rehash: bool) -> bool:
        if not target.is_file():
            return False
        stat = target.stat()
        if stat.st_size != remote.size:
            return False
        entry = self.entries.get(target.name) or {}
        if (
            not rehash
            and entry.get("size") == stat.st_size
            and entry.get("mtime_ns") == stat.st_mtime_ns
            and entry.get("digest") == remote.digest
        ):
            return True
        if _digest_problem(target, remote) is not None:
            return False
        self.remember(target, remote)
        return True

    def remember(self, target: Path, remote: RemoteFile) -> None:
        stat = target.stat()
        self.entries[target.name] = {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "digest": remote.digest,
            "digest_type": remote.digest_type,
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(self.entries, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.path)


def failures(outcome: Outcome) -> Iterator[str]:
    """One line per failed file."""
    for name, reason in outcome.failed:
        yield f"error: {name}: {reason}"
