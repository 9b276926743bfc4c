"""Start, stop and kill a real `strongroom serve --dev` process.

The suite treats the server as a black box; this module owns the process
contract (see README.md in this directory):

* the binary comes from ``$STRONGROOM_BIN``;
* ``serve --dev --data-dir DIR --listen 127.0.0.1:0 --dev-account ACCOUNT``
  (optionally ``--dev-access-key-id`` / ``--dev-secret-access-key``, and any
  ``extra_args`` such as ``--dev-clock-control``);
* once listening it prints ``export AWS_ENDPOINT_URL=…``, ``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY`` and ``AWS_REGION`` lines on stdout;
* ``GET /healthz`` answers 200 when it is ready;
* SIGTERM shuts it down gracefully with exit code 0;
* with ``--dev-clock-control``, ``POST /_strongroom/clock`` (unsigned JSON
  ``{"advance_seconds": N}``) moves the server's domain clock forward and runs
  the background work that became due; ``GET`` reads it.

stdout and stderr go to files (never pipes, so a chatty server cannot block on
a full pipe) that the secret-leak tests read afterwards.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shlex
import signal
import string
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ACCOUNT_ID = "111122223333"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
# A server whose domain clock tests move (--dev-clock-control). Its own scheduler
# runs once an hour, so the work a clock jump makes due is done, and counted, by
# that jump's answer rather than by a background tick racing it.
CLOCK_CONTROL_ARGS = ("--dev-clock-control", "--scheduler-interval", "3600")
EXPORT_KEYS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")
_EXPORT_RE = re.compile(r"^\s*export\s+(AWS_[A-Z_]+)=(.*)$")

_live: set[subprocess.Popen] = set()


@atexit.register
def _kill_leftovers() -> None:
    """Last resort: never leave a server of ours running after pytest exits."""
    for proc in list(_live):
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def resolve_binary() -> str:
    """The server binary from $STRONGROOM_BIN; fail (never skip) when unusable."""
    path = os.environ.get("STRONGROOM_BIN", "")
    if not path:
        pytest.fail(
            "STRONGROOM_BIN is not set: point it at the strongroom binary, e.g. "
            "STRONGROOM_BIN=target/debug/strongroom pytest tests/e2e",
            pytrace=False,
        )
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"STRONGROOM_BIN={path!r} is not an executable file", pytrace=False)
    return os.path.abspath(path)


def random_access_key_id() -> str:
    """An AWS-shaped access key id (AKIA + 16 base32 characters)."""
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


def random_secret_access_key() -> str:
    """An AWS-shaped secret access key (40 characters)."""
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(secrets.choice(alphabet) for _ in range(40))


def parse_exports(text: str) -> dict[str, str]:
    """The `export NAME=value` lines of the server's stdout, quotes removed."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _EXPORT_RE.match(line)
        if match:
            value = match.group(2).strip()
            parts = shlex.split(value) if value else [""]
            found[match.group(1)] = parts[0] if parts else ""
    return found


class StrongroomServer:
    """One server process over one data directory, restartable on the same data."""

    def __init__(
        self,
        binary: str,
        data_dir: Path,
        log_dir: Path,
        *,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        account_id: str = ACCOUNT_ID,
        extra_env: dict[str, str] | None = None,
        extra_args: list[str] | tuple[str, ...] = (),
    ) -> None:
        self.binary = binary
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.account_id = account_id
        self.requested_access_key_id = access_key_id
        self.requested_secret_access_key = secret_access_key
        self.extra_env = dict(extra_env or {})
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen | None = None
        self.exports: dict[str, str] = {}
        self.stdout_paths: list[Path] = []
        self.stderr_paths: list[Path] = []
        self.starts = 0
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    # -- process lifecycle -------------------------------------------------

    def command(self, with_credentials: bool = True) -> list[str]:
        cmd = [
            self.binary, "serve", "--dev",
            "--data-dir", str(self.data_dir),
            "--listen", "127.0.0.1:0",
            "--dev-account", self.account_id,
        ]
        if with_credentials and self.requested_access_key_id:
            cmd += ["--dev-access-key-id", self.requested_access_key_id]
        if with_credentials and self.requested_secret_access_key:
            cmd += ["--dev-secret-access-key", self.requested_secret_access_key]
        return cmd + self.extra_args

    def start(self, *, with_credentials: bool = True, timeout: float = STARTUP_TIMEOUT_S) -> None:
        """Start and wait until the export lines are printed and /healthz is 200."""
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        self.starts += 1
        out_path = self.log_dir / f"stdout-{self.starts}.log"
        err_path = self.log_dir / f"stderr-{self.starts}.log"
        self.stdout_paths.append(out_path)
        self.stderr_paths.append(err_path)
        env = dict(os.environ)
        env.update(self.extra_env)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            self.proc = subprocess.Popen(
                self.command(with_credentials),
                stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,
            )
        _live.add(self.proc)
        deadline = time.monotonic() + timeout
        self.exports = self._wait_for_exports(out_path, deadline)
        self._wait_for_health(deadline)

    def _fail_startup(self, why: str) -> None:
        tail = self.stderr_text()[-4000:]
        out = self.stdout_text()[-2000:]
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        pytest.fail(
            f"strongroom did not start: {why}\ncommand: {shlex.join(self.command())}\n"
            f"--- stdout ---\n{out}\n--- stderr (tail) ---\n{tail}",
            pytrace=False,
        )

    def _wait_for_exports(self, out_path: Path, deadline: float) -> dict[str, str]:
        while True:
            found = parse_exports(out_path.read_text(errors="replace"))
            if all(k in found for k in EXPORT_KEYS):
                return found
            if self.proc.poll() is not None:
                self._fail_startup(f"exited with code {self.proc.returncode} before printing exports")
            if time.monotonic() > deadline:
                missing = [k for k in EXPORT_KEYS if k not in found]
                self._fail_startup(f"no `export` line for {missing} within the startup timeout")
            time.sleep(0.05)

    def _wait_for_health(self, deadline: float) -> None:
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail_startup(f"exited with code {self.proc.returncode} before /healthz was 200")
            try:
                status, _ = self.healthz()
                if status == 200:
                    return
                last = f"HTTP {status}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.05)
        self._fail_startup(f"/healthz never answered 200 (last: {last})")

    def healthz(self) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.endpoint + "/healthz", timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return None
        finally:
            _live.discard(self.proc)

    def kill(self) -> None:
        """SIGKILL: simulate a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        _live.discard(self.proc)

    def restart(self, *, with_credentials: bool = True) -> None:
        self.stop()
        self.start(with_credentials=with_credentials)

    # -- the test-only clock (--dev-clock-control) ------------------------------

    def clock_request(self, method: str, payload: dict | None = None) -> tuple[int, bytes]:
        """An unsigned request to /_strongroom/clock: (HTTP status, body)."""
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.endpoint + "/_strongroom/clock", data=data, method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def clock_now(self) -> float:
        """The server's domain clock, in epoch seconds."""
        status, body = self.clock_request("GET")
        assert status == 200, f"GET /_strongroom/clock -> HTTP {status}: {body[:300]!r}"
        return float(json.loads(body)["now"])

    def advance_clock(self, seconds: int) -> dict:
        """Move the domain clock forward; the answer (`now`, `rotated`, `deleted`)
        comes after the background work that became due has run."""
        status, body = self.clock_request("POST", {"advance_seconds": int(seconds)})
        assert status == 200, f"POST /_strongroom/clock -> HTTP {status}: {body[:300]!r}"
        return json.loads(body)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- what the server told us --------------------------------------------

    @property
    def endpoint(self) -> str:
        return self.exports["AWS_ENDPOINT_URL"]

    @property
    def access_key_id(self) -> str:
        return self.exports["AWS_ACCESS_KEY_ID"]

    @property
    def secret_access_key(self) -> str:
        return self.exports["AWS_SECRET_ACCESS_KEY"]

    @property
    def region(self) -> str:
        return self.exports["AWS_REGION"]

    @property
    def host_port(self) -> tuple[str, int]:
        match = re.match(r"^https?://([^:/]+):(\d+)", self.endpoint)
        assert match, f"unexpected endpoint {self.endpoint!r}"
        return match.group(1), int(match.group(2))

    def stdout_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.stdout_paths if p.exists())

    def stderr_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.stderr_paths if p.exists())

    def log_files(self) -> list[Path]:
        return [p for p in self.stdout_paths + self.stderr_paths if p.exists()]

    def cli_env(self) -> dict[str, str]:
        """Environment for the AWS CLI: the printed exports, nothing from the host.

        botocore (and so AWS CLI v1 and boto3) reads the region only from
        AWS_DEFAULT_REGION, not AWS_REGION, so both are set.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.exports)
        env["AWS_DEFAULT_REGION"] = self.region
        env["AWS_CONFIG_FILE"] = os.devnull
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env["AWS_PAGER"] = ""
        return env
