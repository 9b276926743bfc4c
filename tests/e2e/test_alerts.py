"""Alert rules (`strongroom serve --alerts FILE`, docs/alerts.md): real boto3 traffic
against the real binary makes each rule kind fire, or stay quiet, and the alerts
reach a local webhook receiver (http.server in a thread, plain HTTP and HTTPS with
a CA made here), signed with HMAC-SHA-256 as the docs tell a receiver to check.
Delivery: retries on 5xx, the dead-letter file when a webhook is down, secrets in
no log and no file; a bad configuration refuses to start.

Quiet cases are checked with a barrier: the engine evaluates events in order, so
after the traffic that must stay quiet, a marker alert is provoked and awaited; an
alert the quiet traffic had raised would have been submitted before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import ipaddress
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from access_helpers import Account, Creds, allow, doc, key_policy
from kms_helpers import error_of, find_secret, kms_client, unique
from strongroom_server import StrongroomServer, random_access_key_id, random_secret_access_key

SECRET_ENV = "STRONGROOM_E2E_ALERT_SECRET"
REPLAY_WINDOW_S = 300
WAIT_S = 15.0
QUIET_GRACE_S = 0.5


# -- a webhook receiver ----------------------------------------------------------


class Receiver:
    """Collects signed POSTs. `script` lists the HTTP statuses of the first answers
    (200 after it runs out)."""

    def __init__(self, secret: bytes, script: list[int] | None = None, tls: ssl.SSLContext | None = None):
        self.secret = secret
        self.script = list(script or [])
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers.items()), "body": body,
                                              "received": time.time()})
                    status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/hook?token=e2e"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)

    def alerts(self, rule: str | None = None) -> list[dict[str, Any]]:
        """The verified bodies of every request, in arrival order (retries included)."""
        out = []
        for r in self.snapshot():
            alert = verify(self.secret, r["headers"], r["body"])
            if rule is None or alert["rule"] == rule:
                out.append(alert)
        return out

    def wait_for(self, what: Callable[[list[dict[str, Any]]], list], timeout: float = WAIT_S) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = what(self.alerts())
            if found:
                return found
            time.sleep(0.05)
        pytest.fail(f"no matching alert within {timeout} s; received: "
                    f"{[(a['rule'], a['summary']) for a in self.alerts()]}")


def verify(secret: bytes, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What docs/alerts.md tells a receiver to do: recompute the HMAC over
    `timestamp.body`, compare in constant time, refuse stale timestamps."""
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp = lower["x-strongroom-timestamp"]
    signature = lower["x-strongroom-signature"]
    assert signature.startswith("v1="), signature
    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature[3:], expected), "bad signature"
    assert abs(time.time() - int(timestamp)) < REPLAY_WINDOW_S, f"stale timestamp {timestamp}"
    assert lower["content-type"] == "application/json"
    alert = json.loads(body)
    assert lower["x-strongroom-alert-id"] == alert["id"]
    return alert


def of(rule: str, **fields: Any) -> Callable[[list[dict[str, Any]]], list]:
    """A filter for Receiver.wait_for: alerts of `rule` whose fields have these values
    (dotted names reach into `subject`)."""
    def pick(alerts: list[dict[str, Any]]) -> list:
        def ok(a: dict[str, Any]) -> bool:
            for name, value in fields.items():
                got: Any = a
                for part in name.split("."):
                    got = got.get(part) if isinstance(got, dict) else None
                if got != value:
                    return False
            return a["rule"] == rule
        return [a for a in alerts if ok(a)]
    return pick


# -- servers -------------------------------------------------------------------


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def start_server(root: Path, binary: str, config: Path, secret: str) -> StrongroomServer:
    srv = StrongroomServer(binary, root / "data", root / "logs", access_key_id=random_access_key_id(),
                           secret_access_key=random_secret_access_key(),
                           extra_env={SECRET_ENV: secret}, extra_args=["--alerts", str(config)])
    srv.start()
    return srv


MAIN_RULES = """
[delivery]
attempts = 3
initial_backoff = "100ms"
max_backoff = "200ms"

[webhooks.hook]
url = "{url}"
secret_env = "{env}"

[[rules]]
name = "pending"
kind = "pending-deletion-use"
cooldown = "1h"
webhooks = ["hook"]

[[rules]]
name = "denied"
kind = "denials"
threshold = 3
window = "30s"
webhooks = ["hook"]
[rules.filter]
principals = ["arn:aws:iam::*:user/deny-*"]

[[rules]]
name = "changes"
kind = "key-change"
cooldown = "0s"
webhooks = ["hook"]

[[rules]]
name = "rate"
kind = "rate"
per = "principal"
window = "2s"
baseline = "6s"
factor = 3
min_count = 10
warmup = "6s"
webhooks = ["hook"]
[rules.filter]
principals = ["arn:aws:iam::*:user/rate-*"]
"""


@pytest.fixture(scope="module")
def main(strongroom_bin, tmp_path_factory):
    """One server with every rule kind, delivering to one receiver."""
    root = tmp_path_factory.mktemp("alerts-main")
    secret = secrets.token_hex(24)
    receiver = Receiver(secret.encode())
    config = write_config(root / "alerts.toml", MAIN_RULES.format(url=receiver.url(), env=SECRET_ENV))
    srv = start_server(root, strongroom_bin, config, secret)
    kms = kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region)
    account = Account(srv.endpoint, srv.account_id, Creds(srv.access_key_id, srv.secret_access_key))
    yield {"srv": srv, "kms": kms, "account": account, "receiver": receiver, "secret": secret}
    srv.stop()
    receiver.close()


def marker(m: dict) -> str:
    """The barrier of the quiet cases: a DisableKey alert that arrives after whatever the
    traffic before it raised. Returns the marker key's ARN."""
    key_id = m["kms"].create_key(Description="alerts marker")["KeyMetadata"]["KeyId"]
    m["kms"].disable_key(KeyId=key_id)
    arn = key_arn(m, key_id)
    m["receiver"].wait_for(of("changes", eventName="DisableKey", **{"subject.arn": arn}))
    time.sleep(QUIET_GRACE_S)
    return arn


def plain(text: str) -> str:
    """`text` without terminal colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def key_arn(m: dict, key_id: str) -> str:
    srv = m["srv"]
    return f"arn:aws:kms:{srv.region}:{srv.account_id}:key/{key_id}"


def expect_error(code: str, call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as info:
        call()
    got, message, _ = error_of(info.value)
    assert got == code, (got, message)
    return message


# -- the rule kinds -------------------------------------------------------------


def test_use_of_a_key_pending_deletion_alerts_once_per_cooldown(main):
    kms, receiver = main["kms"], main["receiver"]
    key_id = kms.create_key(Description="alerts pending")["KeyMetadata"]["KeyId"]
    arn = key_arn(main, key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    # Looking at a key pending deletion is not using it.
    kms.describe_key(KeyId=key_id)
    message = expect_error("KMSInvalidStateException", lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"))
    assert "is pending deletion" in message
    [alert] = receiver.wait_for(of("pending", **{"subject.arn": arn}))
    assert alert["kind"] == "pending-deletion-use"
    assert alert["subject"] == {"type": "key", "arn": arn}
    assert alert["eventName"] == "Encrypt"
    assert alert["principal"] == f"arn:aws:iam::{main['srv'].account_id}:root"
    assert alert["version"] == 1 and alert["suppressed"] == 0
    assert len(alert["eventIds"]) == 1 and alert["events"][0]["eventID"] == alert["eventIds"][0]
    assert alert["events"][0]["errorCode"] == "KMSInvalidStateException"
    # The same key again within the cooldown (1 h): quiet.
    expect_error("KMSInvalidStateException",
                 lambda: kms.generate_data_key(KeyId=key_id, KeySpec="AES_256"))
    marker(main)
    assert len([a for a in receiver.alerts("pending") if a["subject"]["arn"] == arn]) == 1


def test_denials_alert_at_the_threshold_and_not_below(main):
    account, receiver = main["account"], main["receiver"]
    key_id = main["kms"].create_key(Description="alerts denials")["KeyMetadata"]["KeyId"]
    quiet = account.create_user("deny-quiet")
    loud = account.create_user("deny-loud")
    for _ in range(2):
        expect_error("AccessDeniedException", lambda: quiet.kms.encrypt(KeyId=key_id, Plaintext=b"x"))
        expect_error("AccessDeniedException", lambda: loud.kms.encrypt(KeyId=key_id, Plaintext=b"x"))
    marker(main)
    users = {quiet.arn, loud.arn}
    assert [a for a in receiver.alerts("denied") if a["subject"]["arn"] in users] == [], \
        "two denials are below the threshold of three"
    expect_error("AccessDeniedException", lambda: loud.kms.describe_key(KeyId=key_id))
    [alert] = receiver.wait_for(of("denied", **{"subject.arn": loud.arn}))
    assert alert["subject"] == {"type": "principal", "arn": loud.arn}
    assert (alert["count"], alert["threshold"], alert["windowSeconds"]) == (3, 3, 30)
    assert len(alert["eventIds"]) == 3
    assert alert["eventName"] == "DescribeKey"
    assert alert["events"][0]["errorCode"] == "AccessDeniedException"


def test_key_changes_alert_on_success_only(main):
    kms, receiver = main["kms"], main["receiver"]
    srv = main["srv"]
    key_id = kms.create_key(Description="alerts changes")["KeyMetadata"]["KeyId"]
    arn = key_arn(main, key_id)
    kms.disable_key(KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=key_policy(srv.account_id))
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    for name in ("DisableKey", "PutKeyPolicy", "ScheduleKeyDeletion"):
        [alert] = receiver.wait_for(of("changes", eventName=name, **{"subject.arn": arn}))
        assert alert["kind"] == "key-change"
        assert alert["principal"] == f"arn:aws:iam::{srv.account_id}:root"
        assert alert["events"][0]["eventName"] == name and "errorCode" not in alert["events"][0]
    # Failed changes: a key pending deletion cannot be disabled; an unknown key is not found.
    expect_error("KMSInvalidStateException", lambda: kms.disable_key(KeyId=key_id))
    expect_error("NotFoundException", lambda: kms.disable_key(KeyId="00000000-0000-0000-0000-000000000000"))
    marker(main)
    mine = [a for a in receiver.alerts("changes") if a["subject"]["arn"] == arn]
    assert sorted(a["eventName"] for a in mine) == ["DisableKey", "PutKeyPolicy", "ScheduleKeyDeletion"]


def test_a_burst_above_the_baseline_alerts_and_steady_traffic_does_not(main):
    account, receiver = main["account"], main["receiver"]
    key_id = main["kms"].create_key(Description="alerts rate")["KeyMetadata"]["KeyId"]
    user = account.create_user("rate", policies={"use": doc(allow(["kms:Encrypt"]))})
    kms = user.kms
    # Steady: about 12 requests a second for 8 s (above min_count per 2-s window, so only
    # the baseline keeps the rule quiet), past the 6-s warm-up.
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < 8.0:
        kms.encrypt(KeyId=key_id, Plaintext=b"steady")
        n += 1
        time.sleep(max(0.0, start + n / 12.0 - time.monotonic()))
    marker(main)
    assert [a for a in receiver.alerts("rate") if a["subject"]["arn"] == user.arn] == [], \
        "steady traffic stayed within 3 x its baseline"
    # Burst: 4 threads as fast as they go, far above 3 x ~24 per window.
    errors: list[BaseException] = []

    def burst() -> None:
        try:
            client = kms_client(main["srv"].endpoint, user.creds.access_key_id, user.creds.secret_access_key)
            for _ in range(60):
                client.encrypt(KeyId=key_id, Plaintext=b"burst")
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=burst) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    [alert] = receiver.wait_for(of("rate", **{"subject.arn": user.arn}))
    assert alert["kind"] == "rate"
    assert alert["subject"] == {"type": "principal", "arn": user.arn}
    assert alert["windowSeconds"] == 2 and alert["baselineSeconds"] == 6 and alert["factor"] == 3
    assert alert["count"] > 3 * alert["baseline"] and alert["count"] >= 10
    assert 0 < len(alert["eventIds"]) <= 20


def test_alerts_are_logged_and_the_secret_is_not(main):
    srv, secret = main["srv"], main["secret"].encode()
    arn = marker(main)
    log = plain(srv.stderr_text())
    assert re.search(rf"WARN strongroom::alert: DisableKey on key {re.escape(arn)} by arn:aws:iam::\d+:root"
                     r" alert_id=[0-9a-f-]{36} rule=changes kind=key-change", log), log[-3000:]
    for path in srv.log_files():
        assert find_secret(path.read_bytes(), secret) == [], path
    dead = srv.data_dir / "alerts-dead-letter.jsonl"
    assert dead.exists() and dead.read_bytes() == b"", "every alert was delivered"


# -- delivery: retries, HTTPS, the dead-letter file --------------------------------------


def make_tls(root: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA and a server certificate for 127.0.0.1; returns the CA file and the
    server's TLS context."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "strongroom e2e alerts CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    ca_file = root / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = root / "server.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return ca_file, context


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DELIVERY_RULES = """
[delivery]
attempts = 3
initial_backoff = "100ms"
max_backoff = "200ms"
timeout = "2s"

[webhooks.flaky]
url = "{flaky}"
secret_env = "{env}"

[webhooks.tls]
url = "{tls}"
secret_env = "{env}"
ca_file = "{ca}"

[webhooks.down]
url = "http://127.0.0.1:{down}/hook"
secret_env = "{env}"

[[rules]]
name = "changes"
kind = "key-change"
events = ["DisableKey"]
webhooks = ["flaky", "tls", "down"]
"""


def test_retries_https_and_the_dead_letter_file(strongroom_bin, tmp_path):
    secret = secrets.token_hex(24)
    flaky = Receiver(secret.encode(), script=[500, 503])
    ca_file, tls_context = make_tls(tmp_path)
    tls = Receiver(secret.encode(), tls=tls_context)
    config = write_config(tmp_path / "alerts.toml", DELIVERY_RULES.format(
        flaky=flaky.url(), tls=tls.url("https"), ca=ca_file, down=free_port(), env=SECRET_ENV))
    srv = start_server(tmp_path / "srv", strongroom_bin, config, secret)
    try:
        kms = kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region)
        key_id = kms.create_key(Description="alerts delivery")["KeyMetadata"]["KeyId"]
        kms.disable_key(KeyId=key_id)
        # 500, 503, then 200: three attempts of one alert, the last one delivered.
        attempts = flaky.wait_for(lambda alerts: alerts if len(alerts) >= 3 else [])
        assert len({a["id"] for a in attempts}) == 1
        numbers = [{k.lower(): v for k, v in r["headers"].items()}.get("x-strongroom-attempt")
                   for r in flaky.snapshot()]
        assert numbers == ["1", "2", "3"]
        # HTTPS, checked against the configured CA.
        [over_tls] = tls.wait_for(lambda alerts: alerts)
        assert over_tls["id"] == attempts[0]["id"] and over_tls["eventName"] == "DisableKey"
        # Nobody listens for "down": after its attempts the alert is a dead letter.
        dead = srv.data_dir / "alerts-dead-letter.jsonl"
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not dead.read_text().strip():
            time.sleep(0.05)
        [line] = [json.loads(l) for l in dead.read_text().splitlines()]
        assert line["webhook"] == "down" and line["attempts"] == 3
        assert "cannot connect" in line["reason"], line["reason"]
        assert line["alert"]["id"] == attempts[0]["id"]
        assert find_secret(dead.read_bytes(), secret.encode()) == []
        assert "token=e2e" not in dead.read_text()
        # The engine's counters are on /metrics with the server's own.
        text = urllib.request.urlopen(f"{srv.endpoint}/metrics", timeout=10).read().decode()
        assert metric(text, "strongroom_alerts_fired_total", rule="changes") == 1, text
        assert metric(text, "strongroom_alert_deliveries_total", webhook="down", outcome="dead_letter") == 1
        assert metric(text, "strongroom_alert_delivery_attempts_total", webhook="flaky", result="error") == 2
    finally:
        assert srv.stop() == 0
        flaky.close()
        tls.close()
    time.sleep(0.1)
    assert len(flaky.snapshot()) == 3, "a delivered alert is not sent again"
    log = plain(srv.stderr_text())
    assert "alert delivered" in log and "written to the dead-letter file" in log
    assert "fired=1 delivered=2 dead_lettered=1 lost=0 attempts=7" in log, log[-3000:]
    for path in srv.log_files():
        assert find_secret(path.read_bytes(), secret.encode()) == [], path
    assert "token=e2e" not in log


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of the Prometheus sample `name` carrying (at least) `labels`."""
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.split("{", 1)[0] == name and all(f'{k}="{v}"' in series for k, v in labels.items()):
            return float(value)
    return None


# -- configuration errors --------------------------------------------------------------


def refuse(binary: str, root: Path, config_text: str | None, *extra: str,
           env: dict[str, str] | None = None) -> str:
    """Runs `serve --dev` expecting it to refuse to start; returns its stderr."""
    root.mkdir(parents=True, exist_ok=True)
    args = [binary, "serve", "--dev", "--data-dir", str(root / "data"), "--listen", "127.0.0.1:0", *extra]
    if config_text is not None:
        args += ["--alerts", str(write_config(root / "alerts.toml", config_text))]
    done = subprocess.run(args, capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})})
    assert done.returncode != 0, done.stdout + done.stderr
    assert "export AWS_ENDPOINT_URL" not in done.stdout, "it must not start serving"
    return done.stderr


def test_a_bad_configuration_refuses_to_start(strongroom_bin, tmp_path):
    bad = """
[[rules]]
name = "denied"
kind = "denials"
threshold = 0
window = "1m"
webhooks = ["nowhere"]
"""
    err = refuse(strongroom_bin, tmp_path, bad)
    assert "invalid alerts configuration (2 problems)" in err, err
    assert "alerts.toml:5:13: rules[0] (denied).threshold: must be between 1 and 10000" in err, err
    assert "alerts.toml:7:12: rules[0] (denied).webhooks: names an undefined webhook `nowhere`" in err, err


def test_a_secret_in_the_file_or_a_missing_one_refuses_to_start(strongroom_bin, tmp_path):
    secret = secrets.token_hex(24)
    in_file = f"""
[webhooks.w]
url = "http://127.0.0.1:1/"
secret = "{secret}"

[[rules]]
name = "p"
kind = "pending-deletion-use"
"""
    err = refuse(strongroom_bin, tmp_path / "a", in_file)
    assert "unknown field `secret`" in err and "secret_env or secret_file" in err, err
    assert secret not in err
    unset = in_file.replace(f'secret = "{secret}"', 'secret_env = "STRONGROOM_E2E_UNSET_VARIABLE"')
    err = refuse(strongroom_bin, tmp_path / "b", unset)
    assert "STRONGROOM_E2E_UNSET_VARIABLE is not set" in err, err


def test_alerts_need_the_audit_trail(strongroom_bin, tmp_path):
    ok = '[[rules]]\nname = "p"\nkind = "pending-deletion-use"\n'
    err = refuse(strongroom_bin, tmp_path, ok, "--audit", "off")
    assert "needs the audit trail" in err, err
