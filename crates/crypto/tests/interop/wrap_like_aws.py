#!/usr/bin/env python3
"""Wraps random key material for AWS KMS ImportKeyMaterial the way a customer does.

Used by crates/crypto/tests/import_interop.rs as an implementation independent of aws-lc-rs.

    wrap_like_aws.py library SPKI_DER_FILE [COUNT]
        pyca/cryptography: RSA-OAEP (MGF1 with the same hash, no label) and
        aes_key_wrap_with_padding (RFC 5649) under a fresh 256-bit AES key.
    wrap_like_aws.py openssl SPKI_DER_FILE [COUNT]
        the openssl commands of the AWS KMS Developer Guide, "Step 3: Encrypt the key
        material": `openssl rand`, `openssl pkeyutl -encrypt ... -pkeyopt
        rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:<md> -pkeyopt rsa_mgf1_md:<md>`, and for
        RSA_AES_KEY_WRAP_* `openssl enc -id-aes256-wrap-pad -iv A65959A6` then
        `cat aes-key-wrapped.bin key-material-wrapped.bin`.

Prints one line per wrap: ALGORITHM MATERIAL_HEX WRAPPED_HEX.
"""
import os
import subprocess
import sys
import tempfile

ALGORITHMS = [
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
]


def md_of(algorithm):
    return "sha1" if algorithm.endswith("_SHA_1") else "sha256"


def wrap_with_library(spki_path, algorithm):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

    with open(spki_path, "rb") as f:
        public_key = serialization.load_der_public_key(f.read())
    digest = hashes.SHA1() if md_of(algorithm) == "sha1" else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=digest), algorithm=digest, label=None)
    material = os.urandom(32)
    if algorithm.startswith("RSAES_OAEP"):
        return material, public_key.encrypt(material, oaep)
    aes_key = os.urandom(32)
    wrapped = public_key.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)
    return material, wrapped


def wrap_with_openssl(spki_path, algorithm):
    md = md_of(algorithm)
    with tempfile.TemporaryDirectory() as d:
        def openssl(*args):
            subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

        def read(name):
            with open(os.path.join(d, name), "rb") as f:
                return f.read()

        oaep = [
            "-inkey", spki_path, "-keyform", "DER", "-pubin",
            "-pkeyopt", "rsa_padding_mode:oaep",
            "-pkeyopt", f"rsa_oaep_md:{md}",
            "-pkeyopt", f"rsa_mgf1_md:{md}",
        ]
        openssl("rand", "-out", "PlaintextKeyMaterial.bin", "32")
        if algorithm.startswith("RSAES_OAEP"):
            openssl("pkeyutl", "-encrypt", "-in", "PlaintextKeyMaterial.bin",
                    "-out", "EncryptedKeyMaterial.bin", *oaep)
        else:
            openssl("rand", "-out", "aes-key.bin", "32")
            openssl("enc", "-id-aes256-wrap-pad", "-K", read("aes-key.bin").hex(),
                    "-iv", "A65959A6", "-in", "PlaintextKeyMaterial.bin",
                    "-out", "key-material-wrapped.bin")
            openssl("pkeyutl", "-encrypt", "-in", "aes-key.bin",
                    "-out", "aes-key-wrapped.bin", *oaep)
            with open(os.path.join(d, "EncryptedKeyMaterial.bin"), "wb") as f:
                f.write(read("aes-key-wrapped.bin") + read("key-material-wrapped.bin"))
        return read("PlaintextKeyMaterial.bin"), read("EncryptedKeyMaterial.bin")


def main():
    mode, spki_path = sys.argv[1], os.path.abspath(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    wrap = {"library": wrap_with_library, "openssl": wrap_with_openssl}[mode]
    for algorithm in ALGORITHMS:
        for _ in range(count):
            material, wrapped = wrap(spki_path, algorithm)
            print(algorithm, material.hex(), wrapped.hex())


if __name__ == "__main__":
    main()
