"""The emulator process and its control API client (stdlib only)."""

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .errors import ApiError, BinaryNotFound, FaultError, NotFound, StartError

BINARY = "bg95-emu"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def find_binary():
    """The `bg95-emu` to run: $BG95_EMU, else the one the wheel installed beside this
    Python's scripts, else the first on PATH."""
    env = os.environ.get("BG95_EMU")
    if env:
        if not os.access(env, os.X_OK):
            raise BinaryNotFound(f"BG95_EMU={env} is not an executable file")
        return env
    candidates = [Path(sysconfig.get_path("scripts")) / BINARY, Path(sys.prefix) / "bin" / BINARY]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    found = shutil.which(BINARY)
    if found:
        return found
    raise BinaryNotFound(
        f"no {BINARY} binary: install the bg95emu wheel (pip install ./python), put "
        f"{BINARY} on PATH, or set BG95_EMU"
    )


@dataclass
class Event:
    """One line of the session (docs/control-api.md): `kind` is host, module, request,
    fault, event, time, header or lagged; `at_ms` the module time; `line` the transcript
    line (for lagged: how many lines this client missed, as text)."""

    kind: str
    at_ms: int
    line: str


class _Api:
    """HTTP + JSON to the control API."""

    def __init__(self, base, token=None, timeout=30.0):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.token = token
        self.timeout = timeout

    def _connect(self, timeout=None):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)

    def _headers(self, extra=None):
        h = dict(extra or {})
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    def request(self, method, path, body=None, content_type="application/json", raw=False):
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        conn = self._connect()
        try:
            conn.request(method, path, body=body, headers=self._headers({"Content-Type": content_type}))
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status >= 400:
            raise _error(resp.status, data)
        if raw or not data:
            return data
        if resp.getheader("Content-Type", "").startswith("application/json"):
            return json.loads(data)
        return data.decode("utf-8", "replace")

    def events(self, timeout=None):
        conn = self._connect(timeout)
        conn.request("GET", "/v1/events", headers=self._headers({"Accept": "text/event-stream"}))
        resp = conn.getresponse()
        if resp.status >= 400:
            data = resp.read()
            conn.close()
            raise _error(resp.status, data)
        return _sse(conn, resp)


def _error(status, data):
    try:
        body = json.loads(data)
        message, key, cme = body.get("error", ""), body.get("key"), body.get("cme")
    except ValueError:
        message, key, cme = data.decode("utf-8", "replace"), None, None
    if status == 404:
        return NotFound(status, message, key, cme)
    if key is not None:
        return FaultError(status, message, key, cme)
    return ApiError(status, message, key, cme)


def _sse(conn, resp):
    """Server-Sent Events as `Event`s, until the stream ends (closing the generator
    closes the connection)."""
    kind, data = "message", []
    try:
        while True:
            raw = resp.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith(":"):
                continue
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif line == "" and data:
                body = json.loads("\n".join(data))
                if kind == "lagged":
                    yield Event("lagged", 0, str(body.get("skipped", 0)))
                else:
                    yield Event(kind, body.get("at_ms", 0), body.get("line", ""))
                kind, data = "message", []
    finally:
        conn.close()


class Ufs:
    """The module's UFS files: `ufs["a.txt"] = b"..."`, `ufs["a.txt"]`, `del ufs["a.txt"]`,
    `"a.txt" in ufs`, `ufs.list()` → {name: size}."""

    def __init__(self, api):
        self._api = api

    @staticmethod
    def _path(name):
        return "/v1/ufs/" + urllib.parse.quote(name, safe="/")

    def list(self):
        return {f["name"]: f["size"] for f in self._api.request("GET", "/v1/ufs")["files"]}

    def read(self, name):
        return self._api.request("GET", self._path(name), raw=True)

    def write(self, name, data):
        if isinstance(data, str):
            data = data.encode()
        self._api.request("PUT", self._path(name), bytes(data), "application/octet-stream")

    def delete(self, name):
        self._api.request("DELETE", self._path(name))

    __getitem__ = read
    __setitem__ = write
    __delitem__ = delete

    def __contains__(self, name):
        return name in self.list()

    def __iter__(self):
        return iter(self.list())


class Faults:
    """Faults while the emulator runs, with the scenario `[[fault]]` keys:
    `faults.add(on="transfer", after_bytes=1000, action="data_reset")` → its name."""

    def __init__(self, api):
        self._api = api

    def add(self, spec=None, **keys):
        body = dict(spec or {}, **keys)
        return self._api.request("POST", "/v1/faults", body)["name"]

    def remove(self, name):
        self._api.request("DELETE", "/v1/faults/" + urllib.parse.quote(name, safe=""))

    def list(self):
        return self._api.request("GET", "/v1/faults")["faults"]

    def fired(self):
        return self._api.request("GET", "/v1/faults/fired")["fired"]


class Emulator:
    """A `bg95-emu serve` process with its control API on a free port.

    Options: `scenario` (a scenario file), `ftp` (start the embedded FTP server, default
    True), `ftp_tls`, `ftp_root` (a folder it serves), `baud`, `tcp` (serve `socket://`,
    default True), `rfc2217`, `seed`, `transcript` (a file), `token` (require it on the
    API), `binary` (else `find_binary()`), `args` (more `serve` options).
    """

    def __init__(self, scenario=None, ftp=True, ftp_tls=False, ftp_root=None, baud=0,
                 tcp=True, rfc2217=False, seed=None, transcript=None, token=None,
                 binary=None, args=()):
        self.options = dict(scenario=scenario, ftp=ftp, ftp_tls=ftp_tls, ftp_root=ftp_root,
                            baud=baud, tcp=tcp, rfc2217=rfc2217, seed=seed,
                            transcript=transcript)
        self.token = token
        self.binary = binary
        self.extra_args = list(args)
        self.proc = None
        self.port = None
        self.url = None
        self.rfc2217_url = None
        self.ftp_url = None
        self.control_url = None
        self.last_transcript = None
        self._stderr = []
        self._api = None
        self.ufs = None
        self.faults = None

    def command(self):
        o = self.options
        cmd = [self.binary or find_binary(), "serve", "--control", "127.0.0.1:0"]
        cmd += ["--ftp-server", "127.0.0.1:0" if o["ftp"] else "off"]
        if o["ftp_tls"]:
            cmd.append("--ftp-tls")
        if o["ftp_root"]:
            cmd += ["--ftp-root", str(o["ftp_root"])]
        if o["baud"]:
            cmd += ["--baud", str(int(o["baud"]))]
        if o["tcp"]:
            cmd += ["--tcp", "127.0.0.1:0"]
        if o["rfc2217"]:
            cmd += ["--rfc2217", "127.0.0.1:0"]
        if o["scenario"]:
            cmd += ["--scenario", str(o["scenario"])]
        if o["seed"] is not None:
            cmd += ["--seed", str(int(o["seed"]))]
        if o["transcript"]:
            cmd += ["--transcript", str(o["transcript"])]
        return cmd + self.extra_args

    def start(self):
        if self.proc is not None:
            return self
        env = dict(os.environ)
        if self.token:
            env["BG95_CONTROL_TOKEN"] = self.token
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        try:
            self._read_announcements()
        except BaseException:
            self._kill()
            raise
        self._api = _Api(self.control_url, self.token)
        self.ufs = Ufs(self._api)
        self.faults = Faults(self._api)
        return self

    def _drain_stderr(self):
        for line in self.proc.stderr:
            if len(self._stderr) < 1000:
                self._stderr.append(line.decode("utf-8", "replace"))

    def _read_announcements(self):
        wanted = {"control"}
        if self.options["tcp"]:
            wanted.add("tcp")
        if self.options["rfc2217"]:
            wanted.add("rfc2217")
        deadline = time.monotonic() + START_TIMEOUT
        result = [None]

        def read():
            seen = set()
            for raw in self.proc.stdout:
                key, _, value = raw.decode("utf-8", "replace").strip().partition(": ")
                if key == "tty":
                    self.port = value
                elif key in ("ftp", "ftps"):
                    self.ftp_url = value.split(" ")[0]
                elif key == "control":
                    self.control_url = value
                elif key == "tcp":
                    self.url = value
                elif key == "rfc2217":
                    self.rfc2217_url = value
                seen.add(key)
                if wanted <= seen:
                    result[0] = True
                    return

        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(max(0.0, deadline - time.monotonic()))
        if result[0]:
            return
        time.sleep(0.1)
        err = "".join(self._stderr).strip()
        code = self.proc.poll()
        raise StartError(
            f"bg95-emu did not start ({'exit ' + str(code) if code is not None else 'no announcement'}): "
            f"{err or 'no message'}"
        )

    def stop(self):
        """Stop the emulator (SIGTERM, then SIGKILL). The transcript so far stays in
        `last_transcript`."""
        if self.proc is None:
            return
        if self.proc.poll() is None and self._api is not None:
            try:
                self.last_transcript = self.transcript()
            except Exception:
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except Exception:
                pass
        self.proc = None

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _require(self):
        if self._api is None:
            raise StartError("the emulator is not started (use start() or `with Emulator() as emu`)")
        return self._api

    def state(self):
        """The module's state (GET /v1/module): power, SIM, registration, PDP contexts,
        the FTP session (`["ftp"]["stat"]` is AT+QFTPSTAT's value), QFTPCFG, QSSLCFG,
        data mode, baud."""
        return self._require().request("GET", "/v1/module")

    def action(self, kind, **keys):
        """A module action now (pdp_lost, registration_lost, sim_removed, module_reset,
        power_loss, ufs_full, …); returns the name it fires under."""
        return self._require().request("POST", "/v1/actions/" + kind, keys)["name"]

    def transcript(self):
        """The session so far, in the transcript format."""
        if not self.running:
            return self.last_transcript or ""
        return self._require().request("GET", "/v1/transcript")

    def events(self, timeout=None):
        """The session's lines as they happen (a generator of `Event`; close it to stop).
        `timeout` bounds the wait for each line (socket.timeout when it passes)."""
        return self._require().events(timeout)

    def api(self, method, path, body=None):
        """A raw control API request (path like "/v1/module")."""
        return self._require().request(method, path, body)

    def stderr(self):
        return "".join(self._stderr)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def __repr__(self):
        return f"Emulator(port={self.port!r}, url={self.url!r}, control={self.control_url!r})"
