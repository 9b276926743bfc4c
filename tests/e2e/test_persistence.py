"""Durability: state survives a graceful restart and a crash (SIGKILL) right
after the server acknowledged a write; credentials survive restarts too."""

from __future__ import annotations

import json

from kms_helpers import kms_client, unique, unique_alias
from strongroom_server import random_access_key_id, random_secret_access_key


def client_for(srv, access_key_id: str | None = None, secret: str | None = None):
    return kms_client(srv.endpoint, access_key_id or srv.access_key_id,
                      secret or srv.secret_access_key, srv.region)


def _seed(kms, account_id: str) -> dict:
    """Create one of everything; returns what must be there after a restart."""
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Persisted", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
         "Action": "kms:Decrypt", "Resource": "*"}]})
    main = kms.create_key(Description="original", Policy=policy,
                          Tags=[{"TagKey": "team", "TagValue": "vault"}])["KeyMetadata"]
    kms.update_key_description(KeyId=main["KeyId"], Description="renamed")
    kms.tag_resource(KeyId=main["KeyId"], Tags=[{"TagKey": "added", "TagValue": "later"}])
    off = kms.create_key(Description="switched off")["KeyMetadata"]
    off_blob = kms.encrypt(KeyId=off["KeyId"], Plaintext=b"disabled key data")["CiphertextBlob"]
    kms.disable_key(KeyId=off["KeyId"])
    alias = unique_alias("persist")
    kms.create_alias(AliasName=alias, TargetKeyId=main["KeyId"])
    moved = unique_alias("moved")
    kms.create_alias(AliasName=moved, TargetKeyId=main["KeyId"])
    kms.update_alias(AliasName=moved, TargetKeyId=off["KeyId"])
    gone = unique_alias("gone")
    kms.create_alias(AliasName=gone, TargetKeyId=main["KeyId"])
    kms.delete_alias(AliasName=gone)
    blob = kms.encrypt(KeyId=alias, Plaintext=b"persist me", EncryptionContext={"k": "v"})["CiphertextBlob"]
    dk = kms.generate_data_key(KeyId=main["KeyId"], KeySpec="AES_256")
    return {"main": main, "off": off, "off_blob": off_blob, "alias": alias, "moved": moved, "gone": gone,
            "blob": blob, "dk": dk, "policy": policy}


def _verify(kms, seed: dict) -> None:
    main, off = seed["main"], seed["off"]
    meta = kms.describe_key(KeyId=main["KeyId"])["KeyMetadata"]
    assert (meta["Description"], meta["KeyState"], meta["Arn"]) == ("renamed", "Enabled", main["Arn"])
    assert abs((meta["CreationDate"] - main["CreationDate"]).total_seconds()) < 1
    assert kms.describe_key(KeyId=off["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=main["KeyId"])["Tags"]}
    assert tags == {"team": "vault", "added": "later"}
    policy = kms.get_key_policy(KeyId=main["KeyId"], PolicyName="default")["Policy"]
    assert json.loads(policy) == json.loads(seed["policy"])
    assert kms.describe_key(KeyId=seed["alias"])["KeyMetadata"]["KeyId"] == main["KeyId"]
    assert kms.describe_key(KeyId=seed["moved"])["KeyMetadata"]["KeyId"] == off["KeyId"]
    names = {a["AliasName"] for p in kms.get_paginator("list_aliases").paginate() for a in p["Aliases"]}
    assert {seed["alias"], seed["moved"]} <= names and seed["gone"] not in names
    listed = {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}
    assert {main["KeyId"], off["KeyId"]} <= listed
    assert kms.decrypt(CiphertextBlob=seed["blob"], EncryptionContext={"k": "v"})["Plaintext"] == b"persist me"
    assert kms.decrypt(CiphertextBlob=seed["dk"]["CiphertextBlob"])["Plaintext"] == seed["dk"]["Plaintext"]
    kms.enable_key(KeyId=off["KeyId"])
    assert kms.decrypt(CiphertextBlob=seed["off_blob"])["Plaintext"] == b"disabled key data"


def test_state_survives_a_graceful_restart(make_server, account_id):
    srv = make_server("graceful")
    srv.start()
    seed = _seed(client_for(srv), account_id)
    assert srv.stop() == 0, "SIGTERM must exit 0"
    srv.start()
    _verify(client_for(srv), seed)


def test_generated_credentials_survive_a_restart(make_server):
    srv = make_server("generated-creds")
    srv.start()
    first_key, first_secret = srv.access_key_id, srv.secret_access_key
    key_id = client_for(srv).create_key()["KeyMetadata"]["KeyId"]
    assert srv.stop() == 0
    srv.start()
    assert (srv.access_key_id, srv.secret_access_key) == (first_key, first_secret), \
        "a restart must keep (and print) the same dev credentials"
    assert client_for(srv, first_key, first_secret).describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id


def test_explicit_credentials_survive_a_restart_without_flags(make_server):
    key_id, secret = random_access_key_id(), random_secret_access_key()
    srv = make_server("explicit-creds", access_key_id=key_id, secret_access_key=secret)
    srv.start()
    assert (srv.access_key_id, srv.secret_access_key) == (key_id, secret)
    created = client_for(srv).create_key()["KeyMetadata"]["KeyId"]
    assert srv.stop() == 0
    srv.start(with_credentials=False)
    kms = client_for(srv, key_id, secret)
    assert kms.describe_key(KeyId=created)["KeyMetadata"]["KeyId"] == created


def test_acknowledged_writes_survive_sigkill(make_server, account_id):
    srv = make_server("crash")
    srv.start()
    kms = client_for(srv)
    key = kms.create_key(Description="crash test")["KeyMetadata"]
    srv.kill()
    srv.start()
    kms = client_for(srv)
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Description"] == "crash test"
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"acknowledged")["CiphertextBlob"]
    alias = unique_alias("crash")
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "crash", "TagValue": "1"}])
    kms.disable_key(KeyId=key["KeyId"])
    srv.kill()
    srv.start()
    kms = client_for(srv)
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyState"] == "Disabled"
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [{"TagKey": "crash", "TagValue": "1"}]
    kms.enable_key(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"acknowledged"


def test_many_acknowledged_writes_survive_sigkill(make_server):
    """A burst of writes, then an immediate crash: every acknowledged one is there."""
    srv = make_server("crash-burst")
    srv.start()
    kms = client_for(srv)
    keys = [kms.create_key(Description=unique("burst"))["KeyMetadata"]["KeyId"] for _ in range(25)]
    blobs = {k: kms.encrypt(KeyId=k, Plaintext=k.encode())["CiphertextBlob"] for k in keys}
    srv.kill()
    srv.start()
    kms = client_for(srv)
    listed = {k["KeyId"] for p in kms.get_paginator("list_keys").paginate() for k in p["Keys"]}
    assert set(keys) <= listed
    for key_id, blob in blobs.items():
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == key_id.encode()


def test_data_dir_of_a_stopped_server_keeps_ciphertexts_decryptable_twice(make_server):
    """Two restarts in a row: nothing is lost by re-opening already re-opened data."""
    srv = make_server("double-restart")
    srv.start()
    kms = client_for(srv)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"twice")["CiphertextBlob"]
    for _ in range(2):
        assert srv.stop() == 0
        srv.start()
    assert client_for(srv).decrypt(CiphertextBlob=blob)["Plaintext"] == b"twice"
