#!/usr/bin/env python3
"""Tiny model folders for the BATS tests, with nothing outside the repository.

  tiny_model.py make OUT {gpt2-tiny|llama-tiny}
      the fixture's config and weights (tests/fixtures) plus a byte-level tokenizer.json
      whose 256 tokens are the 256 bytes (GPT-2's byte-to-unicode alphabet, no merges)
  tiny_model.py digest DIR
      the model digest of man/omlkit-formats.5 (MODEL DIGEST), computed independently
  tiny_model.py convert IN OUT {f32|f16|bf16} SHARDS
      the same weights in another dtype (round to nearest even) and/or split into SHARDS
      files with a model.safetensors.index.json, as Hugging Face writes them

Pure Python (struct), so it runs wherever the tests run.
"""
import json
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "models"))
from make_tokenizer import bytes_to_unicode as gpt2_bytes_to_unicode  # noqa: E402


def bytes_to_unicode():
    """GPT-2's byte -> printable character map, as {byte: character}."""
    return dict(gpt2_bytes_to_unicode())


def tokenizer_json():
    level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    vocab = {ch: b for b, ch in bytes_to_unicode().items()}
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
            "pre_tokenizer": level, "post_processor": None, "decoder": level,
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                      "vocab": vocab, "merges": []}}


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None)
    tensors = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        data = raw[8 + n + b:8 + n + e]
        count = 1
        for d in info["shape"]:
            count *= d
        if info["dtype"] == "F32":
            values = struct.unpack("<%df" % count, data)
        elif info["dtype"] == "F16":
            values = struct.unpack("<%de" % count, data)
        elif info["dtype"] == "BF16":
            values = [struct.unpack("<f", struct.pack("<I", h << 16))[0] for h in struct.unpack("<%dH" % count, data)]
        else:
            raise SystemExit("unsupported dtype " + info["dtype"])
        tensors[name] = (info["shape"], values)
    return tensors, meta


def encode(values, dtype):
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    out = []
    for bits in struct.unpack("<%dI" % len(values), struct.pack("<%df" % len(values), *values)):
        out.append(((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF)  # round to nearest even
    return struct.pack("<%dH" % len(out), *out)


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = encode(values, dtype)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def raw_tensors(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    out = {}
    for f in files:
        raw = open(os.path.join(folder, f), "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        header.pop("__metadata__", None)
        for name, info in header.items():
            b, e = info["data_offsets"]
            out[name] = (info["dtype"], info["shape"], raw[8 + n + b:8 + n + e])
    return out


def digest(folder):
    import hashlib
    u64 = lambda n: struct.pack("<Q", n)
    s = lambda t: u64(len(t.encode())) + t.encode()
    tensors = raw_tensors(folder)
    h = hashlib.sha256(b"omlkit model digest v1\n" + u64(len(tensors)))
    for name in sorted(tensors, key=lambda k: k.encode()):
        dtype, shape, data = tensors[name]
        h.update(s(name) + s(dtype) + u64(len(shape)) + b"".join(u64(d) for d in shape) + u64(len(data)) + data)
    return "sha256:" + h.hexdigest()


def main():
    if sys.argv[1] == "digest":
        print(digest(sys.argv[2]))
    elif sys.argv[1] == "make":
        out, fixture = sys.argv[2], os.path.join(HERE, "..", "fixtures", sys.argv[3])
        os.makedirs(out)
        for name in ("config.json", "model.safetensors"):
            shutil.copy(os.path.join(fixture, name), os.path.join(out, name))
        json.dump(tokenizer_json(), open(os.path.join(out, "tokenizer.json"), "w"))
    elif sys.argv[1] == "convert":
        src, out, dtype, shards = sys.argv[2], sys.argv[3], sys.argv[4].upper(), int(sys.argv[5])
        os.makedirs(out)
        for name in os.listdir(src):
            if not name.endswith(".safetensors") and not name.endswith(".index.json"):
                shutil.copy(os.path.join(src, name), os.path.join(out, name))
        tensors = {}
        index = os.path.join(src, "model.safetensors.index.json")
        files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
        for f in files:
            tensors.update(read_safetensors(os.path.join(src, f))[0])
        names = sorted(tensors)
        if shards == 1:
            write_safetensors(os.path.join(out, "model.safetensors"), tensors, dtype)
        else:
            weight_map = {}
            for s in range(shards):
                fname = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
                part = {n: tensors[n] for n in names[s::shards]}
                write_safetensors(os.path.join(out, fname), part, dtype)
                weight_map.update({n: fname for n in part})
            json.dump({"metadata": {}, "weight_map": weight_map}, open(os.path.join(out, "model.safetensors.index.json"), "w"))
        config = json.load(open(os.path.join(out, "config.json")))
        config["torch_dtype"] = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype]
        json.dump(config, open(os.path.join(out, "config.json"), "w"))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
