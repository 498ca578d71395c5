#!/usr/bin/env python3
"""Trains a GPT-2-style byte-level BPE tokenizer and writes it as tokenizer.json.

    python3 make_tokenizer.py --vocab 2048 FILE... > tokenizer.json

Vocabulary: the 256 byte tokens in GPT-2's order (ids 0-255), then one token per merge in the
order learned, then <|endoftext|> as the last id (a special added token). Training is the
classic algorithm of Sennrich et al. (2016) on byte-level words: split the text into words
with GPT-2's pre-tokenizer pattern, then repeatedly merge the most frequent adjacent pair
(ties broken by the pair itself, so the output is deterministic). Any byte string can be
encoded; the merges only make the training text's common pieces shorter.
"""
import argparse
import collections
import json
import re
import sys

EOT = '<|endoftext|>'
# GPT-2's pre-tokenizer, with \p{L} written [^\W\d_] and \p{N} written \d for Python's re.
# A merge learned from a slightly different split is still a valid merge, so the tokenizer
# that reads this file (Hugging Face's ByteLevel with use_regex) need not split identically.
WORDS = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    # GPT-2's reversible byte -> printable character map (openai/gpt-2 encoder.py).
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + \
        list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [(b, chr(c)) for b, c in zip(bs, cs)]


def learn_merges(word_counts, n_merges):
    """word_counts: {tuple of symbols: count}. Returns the merges, most useful first."""
    words = [list(w) for w in word_counts]
    counts = list(word_counts.values())
    pairs = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of the words that hold it
    for i, w in enumerate(words):
        for pair in zip(w, w[1:]):
            pairs[pair] += counts[i]
            where[pair].add(i)
    merges = []
    while len(merges) < n_merges and pairs:
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pairs[best] < 2:
            break
        merges.append(best)
        joined = best[0] + best[1]
        for i in sorted(where.pop(best)):
            w = words[i]
            for pair in zip(w, w[1:]):  # take the word out of the counts ...
                pairs[pair] -= counts[i]
                if pairs[pair] <= 0:
                    del pairs[pair]
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == best:
                    out.append(joined)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for pair in zip(out, out[1:]):  # ... and put it back, merged
                pairs[pair] += counts[i]
                where[pair].add(i)
    return merges


def tokenizer_json(merges):
    """The tokenizer.json of a GPT-2-style byte-level BPE: bytes, then merges, then EOT."""
    vocab = {ch: i for i, (_, ch) in enumerate(bytes_to_unicode())}
    for a, b in merges:
        if a + b not in vocab:  # two merges can spell the same token ("ab c", "a bc")
            vocab[a + b] = len(vocab)
    vocab[EOT] = len(vocab)
    byte_level = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}
    tokenizer = {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [{'id': vocab[EOT], 'content': EOT, 'single_word': False, 'lstrip': False,
                          'rstrip': False, 'normalized': True, 'special': True}],
        'normalizer': None,
        'pre_tokenizer': byte_level,
        'post_processor': byte_level,
        'decoder': byte_level,
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': '',
                  'end_of_word_suffix': '', 'fuse_unk': False, 'byte_fallback': False,
                  'vocab': vocab, 'merges': [a + ' ' + b for a, b in merges]},
    }
    return tokenizer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--vocab', type=int, default=2048, help='total ids, <|endoftext|> included')
    ap.add_argument('files', nargs='+')
    args = ap.parse_args()
    byte_char = dict(bytes_to_unicode())
    word_counts = collections.Counter()
    for name in args.files:
        with open(name, encoding='utf-8') as f:
            for word in WORDS.findall(f.read()):
                word_counts[tuple(byte_char[b] for b in word.encode('utf-8'))] += 1
    merges = learn_merges(word_counts, args.vocab - 257)

    json.dump(tokenizer_json(merges), sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
