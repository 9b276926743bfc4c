"""Crash consistency of the key lifecycle.

Load (Encrypt/Decrypt) runs on keys with automatic rotation enabled while one
thread rotates them on demand, a clock jump makes an automatic rotation of
each of them due, and another thread schedules and cancels the deletion of
other keys. The server is SIGKILLed in the middle of all that and restarted on
the same data directory. Then:

* every acknowledged ciphertext decrypts, and Decrypt names a material the key lists;
* no key is half-rotated: DescribeKey's CurrentKeyMaterialId is one of the
  key's materials (ListKeyRotations ALL_KEY_MATERIAL), the only CURRENT one,
  and Encrypt + Decrypt under it works;
* every acknowledged RotateKeyOnDemand is listed (and nothing beyond what was
  attempted), as is the automatic rotation the acknowledged clock jump made;
* every acknowledged ScheduleKeyDeletion is still pending with its date, every
  acknowledged CancelKeyDeletion left the key Disabled (a request cut off by
  the kill may have gone either way), and those keys' material survived too.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from kms_helpers import DAY_S, all_key_rotations, kms_client, unique
from strongroom_server import CLOCK_CONTROL_ARGS

LOAD_KEYS = 4
DELETION_KEYS = 6
LOAD_THREADS = 3
ON_DEMAND_LIMIT = 25
ROTATION_PAUSE_S = 0.04
BUDGET_S = 60.0


def _client(srv):
    return kms_client(srv.endpoint, srv.access_key_id, srv.secret_access_key, srv.region)


class Run:
    """What the workers did, and which of it the server acknowledged."""

    def __init__(self, load_keys: list[str], deletion_keys: list[str]) -> None:
        self.load_keys = load_keys
        self.deletion_keys = deletion_keys
        self.killing = threading.Event()
        self.stop = threading.Event()
        self.deletions_may_start = threading.Event()
        self.lock = threading.Lock()
        self.unexpected: list[str] = []
        self.sealed: list[tuple[str, dict, bytes, bytes]] = []
        self.rotations_attempted: Counter = Counter()
        self.rotations_acked: Counter = Counter()
        self.clock_jump: dict | None = None
        self.deletion_state = {k: "Enabled" for k in deletion_keys}  # after the last acknowledged call
        self.deletion_dates: dict[str, float] = {}
        self.deletion_in_flight: dict[str, str] = {}  # key -> state the unanswered call leads to

    def failed(self, where: str, exc: BaseException) -> None:
        """A worker's call failed: expected once the kill has begun, a finding before."""
        if not self.killing.is_set():
            with self.lock:
                self.unexpected.append(f"{where}: {exc!r}")


def _load(run: Run, client, index: int) -> None:
    n = 0
    while not run.stop.is_set():
        key_id = run.load_keys[(index + n) % len(run.load_keys)]
        context = {"thread": str(index), "n": str(n)}
        plaintext = os.urandom(24) + n.to_bytes(4, "big")
        try:
            blob = client.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
        except Exception as exc:  # noqa: BLE001 - classified by run.failed
            run.failed(f"load {index} Encrypt", exc)
            return
        with run.lock:
            run.sealed.append((key_id, context, plaintext, blob))
        if n % 3 == 0:
            try:
                out = client.decrypt(CiphertextBlob=blob, EncryptionContext=context)
            except Exception as exc:  # noqa: BLE001
                run.failed(f"load {index} Decrypt", exc)
                return
            if out["Plaintext"] != plaintext:
                run.failed(f"load {index} Decrypt", AssertionError("wrong plaintext"))
                return
        n += 1


def _rotate(run: Run, client) -> None:
    n = 0
    while not run.stop.is_set():
        candidates = [k for k in run.load_keys if run.rotations_acked[k] < ON_DEMAND_LIMIT]
        if not candidates:
            return
        key_id = candidates[n % len(candidates)]
        n += 1
        run.rotations_attempted[key_id] += 1
        try:
            client.rotate_key_on_demand(KeyId=key_id)
        except ClientError as exc:
            # AWS's model lists ConflictException for a rotation already in progress
            # (here: the automatic one the clock jump started); it is not acknowledged.
            if exc.response["Error"]["Code"] != "ConflictException":
                run.failed("RotateKeyOnDemand", exc)
                return
        except Exception as exc:  # noqa: BLE001
            run.failed("RotateKeyOnDemand", exc)
            return
        else:
            run.rotations_acked[key_id] += 1
        time.sleep(ROTATION_PAUSE_S)


def _jump(run: Run, srv) -> None:
    """Make the automatic rotation of every load key due, in the middle of the load."""
    time.sleep(0.5)
    try:
        run.clock_jump = srv.advance_clock(91 * DAY_S)
    except Exception as exc:  # noqa: BLE001
        run.failed("clock jump", exc)
    finally:
        run.deletions_may_start.set()


def _schedule_and_cancel(run: Run, client) -> None:
    """Deletion work starts after the clock jump, so no deletion window can end
    inside the test: every acknowledged schedule must still be pending."""
    run.deletions_may_start.wait(timeout=30)
    rng = random.Random()
    while not run.stop.is_set():
        key_id = rng.choice(run.deletion_keys)
        pending = run.deletion_state[key_id] == "PendingDeletion"
        run.deletion_in_flight[key_id] = "Disabled" if pending else "PendingDeletion"
        try:
            if pending:
                client.cancel_key_deletion(KeyId=key_id)
            else:
                answer = client.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=rng.randint(7, 30))
                run.deletion_dates[key_id] = answer["DeletionDate"].timestamp()
        except Exception as exc:  # noqa: BLE001
            run.failed("Schedule/CancelKeyDeletion", exc)
            return
        run.deletion_state[key_id] = run.deletion_in_flight.pop(key_id)
        time.sleep(0.01)


@pytest.mark.timeout(150)
def test_sigkill_during_rotation_and_deletion_loses_no_acknowledged_work(make_server):
    began = time.monotonic()
    srv = make_server("lifecycle-crash", extra_args=CLOCK_CONTROL_ARGS)
    srv.start()
    admin = _client(srv)
    load_keys = []
    for _ in range(LOAD_KEYS):
        key_id = admin.create_key(Description=unique("crash-load"))["KeyMetadata"]["KeyId"]
        admin.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
        load_keys.append(key_id)
    deletion_keys = [admin.create_key(Description=unique("crash-delete"))["KeyMetadata"]["KeyId"]
                     for _ in range(DELETION_KEYS)]
    early_blobs = {k: admin.encrypt(KeyId=k, Plaintext=k.encode())["CiphertextBlob"] for k in deletion_keys}
    run = Run(load_keys, deletion_keys)
    clients = [_client(srv) for _ in range(LOAD_THREADS + 2)]  # built up front: not thread-safe to build

    threads = [threading.Thread(target=_load, args=(run, clients[i], i)) for i in range(LOAD_THREADS)]
    threads += [
        threading.Thread(target=_rotate, args=(run, clients[LOAD_THREADS])),
        threading.Thread(target=_schedule_and_cancel, args=(run, clients[LOAD_THREADS + 1])),
        threading.Thread(target=_jump, args=(run, srv)),
    ]
    for t in threads:
        t.start()
    try:
        assert run.deletions_may_start.wait(timeout=30), "the clock jump never finished"
        time.sleep(random.uniform(1.0, 2.5))
        run.killing.set()
        srv.kill()
    finally:
        run.killing.set()
        run.stop.set()
        for t in threads:
            t.join(timeout=70)
    assert not any(t.is_alive() for t in threads), "a worker hung after the kill"
    assert not run.unexpected, f"{len(run.unexpected)} failures before the kill, first: {run.unexpected[0]}"
    assert run.clock_jump is not None, "the clock jump was not acknowledged before the kill"
    assert run.clock_jump["rotated"] == LOAD_KEYS, run.clock_jump
    assert len(run.sealed) >= 20, f"too little load before the kill: {len(run.sealed)} ciphertexts"
    assert sum(run.rotations_acked.values()) >= 3, dict(run.rotations_acked)
    assert any(state != "Enabled" for state in run.deletion_state.values()), "no deletion call was acknowledged"

    srv.start()
    kms = _client(srv)

    # -- rotation state: whole, and with every acknowledged rotation ----------------------
    materials: dict[str, set[str]] = {}
    for key_id in load_keys:
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        assert meta["KeyState"] == "Enabled"
        everything = all_key_rotations(kms, key_id, include="ALL_KEY_MATERIAL")
        ids = [e["KeyMaterialId"] for e in everything]
        assert len(ids) == len(set(ids)), f"{key_id}: a material is listed twice"
        assert meta["CurrentKeyMaterialId"] in ids, (
            f"{key_id}: CurrentKeyMaterialId {meta['CurrentKeyMaterialId']} is not among its materials")
        current = [e["KeyMaterialId"] for e in everything if e["KeyMaterialState"] == "CURRENT"]
        assert current == [meta["CurrentKeyMaterialId"]], f"{key_id}: CURRENT entries {current}"
        materials[key_id] = set(ids)

        kinds = Counter(e.get("RotationType") for e in all_key_rotations(kms, key_id))
        assert set(kinds) <= {"ON_DEMAND", "AUTOMATIC"}, kinds
        assert sum(kinds.values()) == len(ids) - 1, "ALL_KEY_MATERIAL must be the rotations plus the original"
        acked, attempted = run.rotations_acked[key_id], run.rotations_attempted[key_id]
        assert acked <= kinds["ON_DEMAND"] <= attempted, (
            f"{key_id}: {kinds['ON_DEMAND']} on-demand rotations listed, "
            f"{acked} acknowledged, {attempted} attempted")
        assert kinds["AUTOMATIC"] == 1, f"{key_id}: the acknowledged automatic rotation: {kinds}"

        status = kms.get_key_rotation_status(KeyId=key_id)
        assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 90)

        blob = kms.encrypt(KeyId=key_id, Plaintext=b"after the crash")["CiphertextBlob"]
        out = kms.decrypt(CiphertextBlob=blob)
        assert out["Plaintext"] == b"after the crash"
        assert out["KeyMaterialId"] == meta["CurrentKeyMaterialId"]

    # -- every acknowledged ciphertext ------------------------------------------------------
    verifiers = [_client(srv) for _ in range(4)]
    local = threading.local()
    handed_out = iter(verifiers)
    hand_out = threading.Lock()

    def check(item) -> str | None:
        key_id, context, plaintext, blob = item
        if not hasattr(local, "client"):
            with hand_out:
                local.client = next(handed_out)
        client = local.client
        try:
            out = client.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        except ClientError as exc:
            return f"{key_id} {context}: {exc.response['Error']['Code']}"
        if out["Plaintext"] != plaintext:
            return f"{key_id} {context}: wrong plaintext"
        if out["KeyMaterialId"] not in materials[key_id]:
            return f"{key_id} {context}: Decrypt names unlisted material {out['KeyMaterialId']}"
        return None

    with ThreadPoolExecutor(max_workers=len(verifiers)) as pool:
        problems = [p for p in pool.map(check, run.sealed) if p]
    assert not problems, f"{len(problems)} of {len(run.sealed)} acknowledged ciphertexts fail, first: {problems[:3]}"

    # -- deletions --------------------------------------------------------------------------
    for key_id in deletion_keys:
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        allowed = {run.deletion_state[key_id]}
        if key_id in run.deletion_in_flight:
            allowed.add(run.deletion_in_flight[key_id])
        assert meta["KeyState"] in allowed, (
            f"{key_id}: {meta['KeyState']} after the crash, acknowledged state "
            f"{run.deletion_state[key_id]}, in flight {run.deletion_in_flight.get(key_id)}")
        if meta["KeyState"] == "PendingDeletion" and run.deletion_state[key_id] == "PendingDeletion":
            assert abs(meta["DeletionDate"].timestamp() - run.deletion_dates[key_id]) < 1
        if meta["KeyState"] == "PendingDeletion":
            kms.cancel_key_deletion(KeyId=key_id)
        kms.enable_key(KeyId=key_id)
        assert kms.decrypt(CiphertextBlob=early_blobs[key_id])["Plaintext"] == key_id.encode()

    elapsed = time.monotonic() - began
    assert elapsed < BUDGET_S, f"the crash test took {elapsed:.1f} s (budget {BUDGET_S:.0f} s)"
