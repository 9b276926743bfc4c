"""Helpers for the audit-trail tests: reading `DATA_DIR/audit` the way an auditor
would (segments, records, the hash chain, the signed digests), running
`strongroom audit verify|query|export`, tampering with copies of a log, and
sending raw IAM/STS requests whose region and credentials a test chooses.

The on-disk format these helpers check independently of the server is the one
the server documents: `segment-NNNNNNNN.jsonl` files of one JSON record per line,
`{"seq": N, "prev": "<hex SHA-256 of the previous line>", "event": {...}}` or
`{"seq": N, "prev": ..., "digest": {...}}`, `prev` of seq 1 being 64 zeros, and
digests signed with Ed25519 over a fixed text (see `digest_signing_text`).
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kms_helpers import RawResponse, send_raw

CLI_TIMEOUT_S = 60
GENESIS_PREV = "0" * 64
SEGMENT_RE = re.compile(r"^segment-(\d{8})\.jsonl$")
TAMPERED_RE = re.compile(r"TAMPERED: (?P<segment>\S+) line (?P<line>\d+)(?: \(seq (?P<seq>\d+)\))?: (?P<problem>.+)")
KMS_SOURCE = "kms.amazonaws.com"
IAM_SOURCE = "iam.amazonaws.com"
STS_SOURCE = "sts.amazonaws.com"
CLOUDTRAIL_SOURCE = "cloudtrail.amazonaws.com"
# How CloudTrail writes the dates inside IAM's and STS's responseElements.
CLOUDTRAIL_DATE_RE = re.compile(
    r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [1-9]\d?, \d{4} (1[0-2]|[1-9]):[0-5]\d:[0-5]\d [AP]M$")
# CloudTrail's member order for an API call (errorCode/errorMessage only on failures).
API_CALL_MEMBERS = [
    "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
    "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
    "responseElements", "requestID", "eventID", "readOnly", "resources", "eventType",
    "managementEvent", "recipientAccountId", "eventCategory",
]


def audit_dir(srv) -> Path:
    return Path(srv.data_dir) / "audit"


def segment_paths(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).iterdir() if SEGMENT_RE.match(p.name))


@dataclass
class Line:
    segment: str
    number: int  # 1-based line number within its segment
    raw: bytes  # without the newline
    record: dict

    @property
    def is_event(self) -> bool:
        return "event" in self.record

    @property
    def is_digest(self) -> bool:
        return "digest" in self.record


def segment_content(path: Path, *, last: bool = True) -> bytes:
    """A segment's content. The segment being written (`last`) is preallocated: its content
    ends at the first zero byte and only zeros follow. Sealed segments have no padding."""
    data = path.read_bytes()
    zero = data.find(b"\0")
    if zero >= 0:
        assert last, f"{path.name}: zero padding in a sealed segment"
        assert data[zero:].count(b"\0") == len(data) - zero, (
            f"{path.name}: data after the zero padding at offset {zero}")
        data = data[:zero]
    return data


def read_lines(directory: Path, *, allow_torn_tail: bool = False) -> list[Line]:
    """Every complete line of every segment, in order. A final line without a
    newline is an error unless `allow_torn_tail` (then it is left out)."""
    lines: list[Line] = []
    paths = segment_paths(directory)
    for index, path in enumerate(paths):
        data = segment_content(path, last=index == len(paths) - 1)
        parts = data.split(b"\n")
        tail = parts.pop()  # b"" when the file ends with a newline
        if tail:
            assert allow_torn_tail and index == len(paths) - 1, (
                f"{path.name} ends with an incomplete line: {tail[:200]!r}")
        for number, raw in enumerate(parts, start=1):
            lines.append(Line(path.name, number, raw, json.loads(raw)))
    return lines


def events(directory: Path, *, allow_torn_tail: bool = False) -> list[dict]:
    return [ln.record["event"] for ln in read_lines(directory, allow_torn_tail=allow_torn_tail) if ln.is_event]


def kms_events(directory: Path, **kwargs) -> list[dict]:
    return [e for e in events(directory, **kwargs) if e.get("eventSource") == KMS_SOURCE]


def events_of(directory: Path, source: str, **kwargs) -> list[dict]:
    return [e for e in events(directory, **kwargs) if e.get("eventSource") == source]


def cloudtrail_date(when: dt.datetime) -> str:
    """`when` (aware) as CloudTrail writes IAM's dates: `Jul 15, 2014 9:40:13 PM` (UTC)."""
    u = when.astimezone(dt.timezone.utc)
    hour12 = u.hour % 12 or 12
    return f"{u:%b} {u.day}, {u.year} {hour12}:{u:%M:%S} {'AM' if u.hour < 12 else 'PM'}"


def events_with_request_id(directory: Path, request_id: str) -> list[dict]:
    return [e for e in events(directory) if e.get("requestID") == request_id]


def the_event(directory: Path, request_id: str) -> dict:
    found = events_with_request_id(directory, request_id)
    assert len(found) == 1, f"{len(found)} audit events carry requestID {request_id}: {found}"
    return found[0]


def line_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def key_resource(account_id: str, arn: str) -> dict:
    return {"accountId": account_id, "type": "AWS::KMS::Key", "ARN": arn}


def event_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_event_time(text: str) -> float:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), f"not a CloudTrail time: {text!r}"
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


# -- raw Query requests (IAM, STS) -------------------------------------------------------------

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


def query_request(endpoint: str, service: str, params: dict[str, str] | None = None, *,
                  body: bytes | None = None, access_key_id: str | None = None,
                  secret_access_key: str | None = None, session_token: str | None = None,
                  region: str = "us-east-1", user_agent: str | None = None) -> tuple[RawResponse, str | None]:
    """POST / with a form body (`params` encoded, or `body` as is), signed like botocore signs
    for `service` and `region` unless no access key is given. Returns the response and the
    request's signature (hex), if signed."""
    data = body if body is not None else urllib.parse.urlencode(params or {}).encode()
    headers = {"Content-Type": FORM_CONTENT_TYPE}
    if user_agent is not None:
        headers["User-Agent"] = user_agent
    request = AWSRequest(method="POST", url=endpoint.rstrip("/") + "/", data=data, headers=headers)
    signature = None
    if access_key_id is not None:
        SigV4Auth(Credentials(access_key_id, secret_access_key, session_token), service, region).add_auth(request)
        signature = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    return send_raw(endpoint, dict(request.headers.items()), data), signature


def poll(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Wait for an asynchronous effect (an audit flush or digest), with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# -- the documented format, checked independently ------------------------------------------


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    assert isinstance(key, Ed25519PublicKey), f"{path} is not an Ed25519 public key: {type(key)}"
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def digest_signing_text(seq: int, d: dict) -> bytes:
    return (
        "strongroom-audit-digest-v1\n"
        f"seq={seq}\nfirstSeq={d['firstSeq']}\nlastSeq={d['lastSeq']}\ncount={d['count']}\n"
        f"fromTime={d['fromTime']}\ntoTime={d['toTime']}\nhead={d['head']}\n"
        f"previousDigest={'null' if d['previousDigest'] is None else d['previousDigest']}\n"
        f"publicKeyFingerprint={d['publicKeyFingerprint']}\n"
    ).encode()


def check_log_independently(directory: Path, public_key: Ed25519PublicKey) -> dict:
    """Walk the log with nothing but the documented format: seq from 1 without gaps,
    every prev the SHA-256 of the line before (across segments), every segment but
    the last ending in a digest, every digest covering exactly the events since the
    previous one and signed by `public_key`. Returns a summary."""
    paths = segment_paths(directory)
    assert [int(SEGMENT_RE.match(p.name).group(1)) for p in paths] == list(range(1, len(paths) + 1)), paths
    lines = read_lines(directory)
    prev, expected_seq = GENESIS_PREV, 1
    window: list[Line] = []
    last_digest_hash = None
    digests = 0
    fp = fingerprint(public_key)
    for ln in lines:
        rec = ln.record
        where = f"{ln.segment} line {ln.number}"
        assert rec["seq"] == expected_seq, f"{where}: seq {rec['seq']}, expected {expected_seq}"
        assert rec["prev"] == prev, f"{where}: prev does not chain"
        if ln.is_event:
            assert set(rec) == {"seq", "prev", "event"}, f"{where}: {sorted(rec)}"
            window.append(ln)
        else:
            assert set(rec) == {"seq", "prev", "digest"}, f"{where}: {sorted(rec)}"
            d = rec["digest"]
            assert window, f"{where}: a digest that covers nothing"
            times = [w.record["event"]["eventTime"] for w in window]
            assert (d["firstSeq"], d["lastSeq"], d["count"]) == (
                window[0].record["seq"], rec["seq"] - 1, len(window)), f"{where}: {d}"
            assert (d["fromTime"], d["toTime"]) == (min(times), max(times)), f"{where}: {d}"
            assert d["head"] == prev, f"{where}: head is not the previous line's hash"
            assert d["previousDigest"] == last_digest_hash, f"{where}: previousDigest"
            assert d["publicKeyFingerprint"] == fp, f"{where}: signed by another key"
            public_key.verify(base64.b64decode(d["signature"]), digest_signing_text(rec["seq"], d))
            last_digest_hash = line_hash(ln.raw)
            digests += 1
            window = []
        prev = line_hash(ln.raw)
        expected_seq += 1
    for path in paths[:-1]:
        last = [ln for ln in lines if ln.segment == path.name][-1]
        assert last.is_digest, f"{path.name} does not end with a digest"
    return {"records": len(lines), "events": len(lines) - digests, "digests": digests,
            "segments": len(paths), "sealed": not window, "head": prev}


# -- the CLI ---------------------------------------------------------------------------------


def run_audit(binary: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary, "audit", *args], capture_output=True, text=True, timeout=CLI_TIMEOUT_S)


def verify(binary: str, directory: Path, *args: str) -> subprocess.CompletedProcess:
    return run_audit(binary, "verify", str(directory), *args)


def assert_verifies(binary: str, directory: Path, *args: str) -> str:
    proc = verify(binary, directory, *args)
    assert proc.returncode == 0, f"audit verify {args} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.startswith("OK:"), proc.stdout
    return proc.stdout


def tampered(binary: str, directory: Path, *args: str) -> dict:
    """Run verify expecting failure; returns the parsed TAMPERED finding."""
    proc = verify(binary, directory, *args)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, f"audit verify exited {proc.returncode} on a tampered log:\n{output}"
    match = TAMPERED_RE.search(output)
    assert match, f"no TAMPERED line in:\n{output}"
    found = match.groupdict()
    return {"segment": found["segment"], "line": int(found["line"]),
            "seq": None if found["seq"] is None else int(found["seq"]), "problem": found["problem"],
            "output": output}


def query(binary: str, directory: Path, *filters: str) -> list[dict]:
    proc = run_audit(binary, "query", str(directory), *filters)
    assert proc.returncode == 0, f"audit query {filters} -> {proc.returncode}\n{proc.stderr}"
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def export(binary: str, directory: Path, *filters: str) -> dict:
    proc = run_audit(binary, "export", str(directory), *filters)
    assert proc.returncode == 0, f"audit export {filters} -> {proc.returncode}\n{proc.stderr}"
    return json.loads(proc.stdout)


# -- tampering with copies ---------------------------------------------------------------


def copy_log(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("lock"))
    return dst


def rewrite_segment(path: Path, edit: Callable[[list[bytes]], list[bytes]]) -> None:
    """Replace a segment's complete lines by `edit(lines)` (lines without newlines)."""
    data = path.read_bytes()
    assert data.endswith(b"\n"), f"{path} has a torn tail"
    lines = data[:-1].split(b"\n")
    path.write_bytes(b"".join(line + b"\n" for line in edit(lines)))
