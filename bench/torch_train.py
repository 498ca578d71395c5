"""PyTorch forward+backward tokens/s on a shared model folder, for bench/engine.sh.

The same plain implementation as torch_forward.py, with every weight trained: forward,
mean next-token cross-entropy, backward (no optimizer step), batch x tokens, on `threads`
threads. Prints one number.
usage: torch_train.py MODEL_DIR THREADS BATCH TOKENS SECONDS
"""
import json, sys, time
import torch
import torch.nn.functional as F
from torch_forward import load, gpt2, llama

def main():
    folder, threads, B, T, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    torch.set_num_threads(threads)
    c = json.load(open(folder + '/config.json'))
    w = {k: v.requires_grad_(True) for k, v in load(folder + '/model.safetensors').items()}
    forward = gpt2 if c['model_type'] == 'gpt2' else llama
    ids = (torch.arange(B * T) * 7919 + 13).remainder(c['vocab_size']).view(B, T)

    def step():
        logits = forward(w, c, ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        for t in w.values():
            t.grad = None

    step()
    start, calls = time.time(), 0
    while time.time() - start < seconds:
        step()
        calls += 1
    print(f'{calls * B * T / (time.time() - start):.0f}')

if __name__ == '__main__':
    main()
