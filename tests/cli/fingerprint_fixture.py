#!/usr/bin/env python3
"""Fingerprint files and training data for the fingerprint-check BATS tests, made without
omlize so that the checker is tested against an independent writer of the record format of
man/omlkit-formats.5 (FINGERPRINT RECORDS) and of its RFC 6962 commitment.

  fingerprint_fixture.py BASE_DIR OUT_PREFIX LICENSE LICENSEE N SEED

for a tiny model from tiny_model.py (one token per byte, no BOS): N keys of 16 random
lowercase letters and spaces; each response is one of the first four alphanumeric tokens that
the base model ranks 3rd or lower after its key (run through `model-run logits`). Writes
  OUT_PREFIX.fp      the private records (mode 0600)
  OUT_PREFIX.train   {"tokens","loss_mask"} lines for `model-run train` (loss on the response)
  OUT_PREFIX.grant   the license.grant entry for ledger-append (root over the salted leaves)
"""
import hashlib
import json
import math
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_model  # noqa: E402
from rfc6962 import canonical, leaf, root  # noqa: E402


def main():
    base, prefix, license, licensee, n, seed = sys.argv[1:7]
    n, seed = int(n), int(seed)
    rng = random.Random(seed)
    keys = []
    while len(keys) < n:
        text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz    ") for _ in range(16))
        if text[0] != " " and text[-1] != " " and "  " not in text and text not in keys:
            keys.append(text)
    request = "".join(json.dumps({"tokens": list(k.encode())}) + "\n" for k in keys)
    rows = subprocess.run(["model-run", "logits", "--model", base], input=request, capture_output=True, text=True,
                          check=True).stdout.splitlines()
    alnum = [ord(c) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"]
    model = tiny_model.digest(base)
    records, train = [], []
    for i, (key, row) in enumerate(zip(keys, rows)):
        logits = json.loads(row)["logits"][-1]
        order = sorted(range(len(logits)), key=lambda t: (-logits[t], t))
        candidates = [t for t in order[3:] if t in alnum][:4]  # the first alphanumeric ones past rank 2
        response = rng.choice(candidates)
        top = max(logits)
        total = sum(math.exp(x - top) for x in logits)
        ids = list(key.encode())
        records.append({"type": "fingerprint", "v": 1, "index": i, "key_index": i, "license": license,
                        "licensee": licensee, "model": model, "key": key, "key_ids": ids,
                        "context": {"template": "raw", "special_tokens": True, "wrapper": ""},
                        "prompt_ids": ids, "response": chr(response), "response_ids": [response],
                        "salt": hashlib.sha256(("%d/%s/%d" % (seed, license, i)).encode()).hexdigest(),
                        "base_prob": math.exp(logits[response] - top) / total, "base_rank": order.index(response)})
        train.append({"tokens": ids + [response], "loss_mask": [0] * len(ids) + [1]})
    fd = os.open(prefix + ".fp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(canonical(r) + "\n" for r in records))
    with open(prefix + ".train", "w") as f:
        f.write("".join(json.dumps(t) + "\n" for t in train))
    leaves = [leaf(canonical({"key": r["key"], "response": r["response"], "salt": r["salt"]})) for r in records]
    grant = {"type": "license.grant", "body": {"license": license, "model": "m-base", "licensee": licensee,
                                               "digest": model, "fingerprints": n, "root": root(leaves).hex()}}
    with open(prefix + ".grant", "w") as f:
        f.write(canonical(grant) + "\n")


if __name__ == "__main__":
    main()
