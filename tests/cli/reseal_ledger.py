#!/usr/bin/env python3
"""Re-chains a ledger edited by hand and re-signs its checkpoints with the ledger's own key,
as its operator could: what is left to find is what the edit did to the accounting.

usage: reseal_ledger.py LEDGER KEY.pem KEY_NAME
An independent implementation of the ledger's framing (man/omlkit-formats.5): RFC 8785
for integer-only JSON is sorted keys, no spaces, non-ASCII kept; RFC 6962 leaf and node
hashes; C2SP signed notes with an Ed25519 key id of SHA-256(name || 0x0A || 0x01 || pk)[:4].
"""
import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives import serialization

from rfc6962 import canonical, leaf, root


def main():
    path, key_path, name = sys.argv[1:4]
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), password=None)
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]
    lines = open(path, "rb").read().split(b"\n")[:-1]
    leaves, out, origin = [], [], None
    for i, raw in enumerate(lines):
        e = json.loads(raw)
        if e["type"] == "genesis":
            origin = e["body"]["origin"]
        e["prev"] = leaves[-1].hex() if leaves else "0" * 64
        if e["type"] == "checkpoint":
            r = base64.b64encode(root(leaves)).decode()
            text = "%s\n%d\n%s\n" % (origin, i, r)
            sig = key.sign(text.encode())
            e["body"]["root"] = r
            e["body"]["note"] = text + "\n\u2014 " + name + " " + base64.b64encode(key_id + sig).decode() + "\n"
        line = canonical(e).encode()
        leaves.append(leaf(line))
        out.append(line)
    open(path, "wb").write(b"".join(line + b"\n" for line in out))


main()
