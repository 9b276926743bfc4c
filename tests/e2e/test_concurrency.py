"""Concurrency: many independent clients at once, each with its own boto3
client, and not a single error."""

from __future__ import annotations

import os
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from kms_helpers import kms_client, raises_kms, unique, unique_alias

CLIENTS = 64
DURATION_S = 4.0


def _clients(server, n: int) -> list:
    # boto3 sessions are not thread-safe to create, so build them up front.
    return [kms_client(server.endpoint, server.access_key_id, server.secret_access_key, server.region)
            for _ in range(n)]


def test_sixty_four_clients_round_trip_without_errors(server, kms):
    keys = [kms.create_key(Description=unique("concurrent"))["KeyMetadata"]["KeyId"] for _ in range(4)]
    clients = _clients(server, CLIENTS)
    start = threading.Barrier(CLIENTS)
    errors: list[str] = []
    counts = [0] * CLIENTS

    def worker(index: int) -> None:
        client, key_id = clients[index], keys[index % len(keys)]
        start.wait(timeout=60)
        deadline = time.monotonic() + DURATION_S
        while time.monotonic() < deadline:
            plaintext = os.urandom(16 + index) + index.to_bytes(2, "big")
            context = {"worker": str(index), "n": str(counts[index])}
            try:
                blob = client.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
                out = client.decrypt(CiphertextBlob=blob, EncryptionContext=context)
            except Exception:  # noqa: BLE001 - every failure is recorded
                errors.append(f"worker {index}: {traceback.format_exc(limit=2)}")
                return
            if out["Plaintext"] != plaintext or not out["KeyId"].endswith(key_id):
                errors.append(f"worker {index}: wrong round trip")
                return
            counts[index] += 1

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(worker, range(CLIENTS)))
    assert not errors, f"{len(errors)} errors, first: {errors[0]}"
    assert all(c >= 1 for c in counts), f"some clients never completed a round trip: {counts}"
    assert sum(counts) >= CLIENTS * 2


def test_concurrent_key_and_alias_creation_loses_nothing(server, kms):
    clients = _clients(server, 16)
    created: list[list[tuple[str, str]]] = [[] for _ in clients]
    errors: list[str] = []

    def worker(index: int) -> None:
        client = clients[index]
        try:
            for _ in range(5):
                key_id = client.create_key(Description=unique("race"))["KeyMetadata"]["KeyId"]
                alias = unique_alias("race")
                client.create_alias(AliasName=alias, TargetKeyId=key_id)
                client.tag_resource(KeyId=key_id, Tags=[{"TagKey": "worker", "TagValue": str(index)}])
                created[index].append((key_id, alias))
        except Exception:  # noqa: BLE001
            errors.append(traceback.format_exc(limit=2))

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        list(pool.map(worker, range(len(clients))))
    assert not errors, errors[0]
    pairs = [p for per_worker in created for p in per_worker]
    assert len(pairs) == 80 and len({k for k, _ in pairs}) == 80
    listed = {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}
    assert {k for k, _ in pairs} <= listed
    aliases = {a["AliasName"]: a["TargetKeyId"]
               for p in kms.get_paginator("list_aliases").paginate() for a in p["Aliases"]}
    for key_id, alias in pairs:
        assert aliases.get(alias) == key_id


def test_racing_for_one_alias_name_has_exactly_one_winner(server, kms):
    contenders = 12
    keys = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(contenders)]
    clients = _clients(server, contenders)
    name = unique_alias("contested")
    start = threading.Barrier(contenders)
    outcomes: list[str] = [""] * contenders

    def worker(index: int) -> None:
        start.wait(timeout=60)
        try:
            clients[index].create_alias(AliasName=name, TargetKeyId=keys[index])
            outcomes[index] = "won"
        except ClientError as exc:
            outcomes[index] = exc.response["Error"]["Code"]

    with ThreadPoolExecutor(max_workers=contenders) as pool:
        list(pool.map(worker, range(contenders)))
    assert outcomes.count("won") == 1, outcomes
    assert set(outcomes) - {"won"} <= {"AlreadyExistsException"}, outcomes
    winner = keys[outcomes.index("won")]
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == winner


def test_concurrent_disable_and_use_never_corrupts_state(server, kms):
    """Flip a key on and off while others use it: each call either works or is
    DisabledException, and the key ends in the state of the last flip."""
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"flip")["CiphertextBlob"]
    clients = _clients(server, 9)
    stop = threading.Event()
    unexpected: list[str] = []

    def user(client) -> None:
        while not stop.is_set():
            try:
                assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"flip"
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "DisabledException":
                    unexpected.append(repr(exc))
            except Exception as exc:  # noqa: BLE001
                unexpected.append(repr(exc))

    threads = [threading.Thread(target=user, args=(c,)) for c in clients[1:]]
    for t in threads:
        t.start()
    try:
        for i in range(20):
            (clients[0].disable_key if i % 2 == 0 else clients[0].enable_key)(KeyId=key_id)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not unexpected, unexpected[:3]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    kms.disable_key(KeyId=key_id)
    with raises_kms("DisabledException"):
        kms.decrypt(CiphertextBlob=blob)
