"""A real HTTP server on 127.0.0.1 that answers like Dryad's API v2, for the fetch tests.

Routes as documented by Dryad (and used by rdryad): POST /oauth/token (client credentials),
GET /api/v2/datasets/{url-encoded doi:...}, GET /api/v2/versions/{id},
GET /api/v2/versions/{id}/files?page=N (paged, `_links.next`), and
GET /api/v2/files/{n}/download (bearer token required, HTTP Range honoured).
Faults are set per file name in `faults`: 'cut' (the first answer stops half-way), 'corrupt'
(serves wrong bytes always), 'corrupt-once', '404', '429' (first answer 429 with Retry-After),
'500-once'.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
TOKEN = "token-that-must-never-be-printed"
VERSION = 4711
PAGE_SIZE = 2


@dataclass
class FakeDryad:
    """The deposit's files (name -> bytes), faults, and a log of what was asked."""

    doi: str
    files: dict[str, bytes]
    faults: dict[str, str] = field(default_factory=dict)
    retry_after: str = "1"
    requests: list[tuple[str, str, dict]] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)
    token: str = TOKEN

    @property
    def names(self) -> list[str]:
        return sorted(self.files)

    def downloads(self, name: str | None = None) -> list[tuple[str, str, dict]]:
        index = None if name is None else self.names.index(name)
        return [
            r
            for r in self.requests
            if r[1].endswith("/download") and (index is None or f"/files/{index}/" in r[1])
        ]


def _handler(state: FakeDryad):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:  # keep test output clean
            return

        def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length", 0))
            form = parse_qs(self.rfile.read(length).decode())
            state.requests.append(("POST", self.path, dict(self.headers)))
            if self.path != "/oauth/token":
                return self._json(404, {"error": "not found"})
            ok = (
                form.get("grant_type") == ["client_credentials"]
                and form.get("client_id") == [CLIENT_ID]
                and form.get("client_secret") == [CLIENT_SECRET]
            )
            if not ok:
                return self._json(401, {"error": "invalid_client"})
            self._json(
                200,
                {
                    "access_token": state.token,
                    "token_type": "Bearer",
                    "expires_in": 36000,
                    "scope": "all",
                },
            )

        def do_GET(self) -> None:  # noqa: N802
            state.requests.append(("GET", self.path, dict(self.headers)))
            parts = urlsplit(self.path)
            dataset = "/api/v2/datasets/" + quote(f"doi:{state.doi}", safe="")
            if parts.path == dataset:
                return self._json(
                    200,
                    {
                        "identifier": f"doi:{state.doi}",
                        "_links": {
                            "self": {"href": dataset},
                            "stash:version": {"href": f"/api/v2/versions/{VERSION}"},
                        },
                    },
                )
            if parts.path == f"/api/v2/versions/{VERSION}":
                return self._json(
                    200,
                    {
                        "_links": {
                            "self": {"href": parts.path},
                            "stash:files": {"href": f"/api/v2/versions/{VERSION}/files"},
                        }
                    },
                )
            if parts.path == f"/api/v2/versions/{VERSION}/files":
                return self._files(int(parse_qs(parts.query).get("page", ["1"])[0]))
            if parts.path.startswith("/api/v2/files/") and parts.path.endswith("/download"):
                return self._download(int(parts.path.split("/")[4]))
            self._json(404, {"error": "not found"})

        def _files(self, page: int) -> None:
            names = state.names
            chunk = names[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
            entries = [
                {
                    "path": name,
                    "size": len(state.files[name]),
                    "mimeType": "application/x-hdf5",
                    "status": "created",
                    "digest": hashlib.sha256(state.files[name]).hexdigest(),
                    "digestType": "sha-256",
                    "_links": {
                        "self": {"href": f"/api/v2/files/{names.index(name)}"},
                        "stash:download": {"href": f"/api/v2/files/{names.index(name)}/download"},
                    },
                }
                for name in chunk
            ]
            links = {"self": {"href": f"/api/v2/versions/{VERSION}/files?page={page}"}}
            if page * PAGE_SIZE < len(names):
                links["next"] = {"href": f"/api/v2/versions/{VERSION}/files?page={page + 1}"}
            self._json(
                200,
                {
                    "_links": links,
                    "count": len(entries),
                    "total": len(names),
                    "_embedded": {"stash:files": entries},
                },
            )

        def _download(self, index: int) -> None:
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                return self._json(401, {"error": "must have current bearer token"})
            name = state.names[index]
            fault = state.faults.get(name, "")
            count = state.served[name] = state.served.get(name, 0) + 1
            if fault == "404":
                return self._json(404, {"error": "not found"})
            if fault == "429" and count == 1:
                return self._json(429, {"error": "slow down"}, {"Retry-After": state.retry_after})
            if fault == "500-once" and count == 1:
                return self._json(503, {"error": "unavailable"})
            data = state.files[name]
            if fault == "corrupt" or (fault == "corrupt-once" and count == 1):
                data = bytes(b ^ 0xFF for b in data)
            start = 0
            if (wanted := self.headers.get("Range", "")).startswith("bytes="):
                start = int(wanted[6:].split("-")[0])
            body = data[start:]
            self.send_response(206 if start else 200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if fault == "cut" and count == 1:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # the connection drops half-way
                return
            self.wfile.write(body)

    return Handler


class Server:
    """Start a FakeDryad on a free port in a thread; `url` is its site root."""

    def __init__(self, state: FakeDryad) -> None:
        self.state = state
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
