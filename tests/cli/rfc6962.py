"""The ledger's framing, written independently of omlkit for the test scripts: RFC 8785
canonical JSON for integer-only values (sorted keys, no spaces, non-ASCII kept) and the
RFC 6962 leaf and tree hashes."""
import hashlib
import json


def canonical(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def leaf(data):
    """The leaf hash of a line (bytes) or record text (str)."""
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(b"\x00" + data).digest()


def root(leaves):
    """RFC 6962 2.1: split at the largest power of two below n."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + root(leaves[:k]) + root(leaves[k:])).digest()
