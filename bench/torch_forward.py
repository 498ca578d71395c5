"""PyTorch forward tokens/s on a shared model folder, for bench/engine.sh.

A plain PyTorch implementation of the two architectures (no transformers package in
Debian), reading the same safetensors weights. Prints one number: tokens/s of
no-grad forward passes with full logits, batch x tokens, on `threads` threads.
usage: torch_forward.py MODEL_DIR THREADS BATCH TOKENS SECONDS
"""
import json, struct, sys, time
import torch
import torch.nn.functional as F

def causal_attention(q, k, v):
    """softmax(q k^T / sqrt(d) + causal mask) v; F.scaled_dot_product_attention where it
    exists (PyTorch >= 2.0), the plain formula on Debian 12's PyTorch 1.13."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    T = q.shape[-2]
    scores = (q @ k.transpose(-2, -1)) / (q.shape[-1] ** 0.5)
    mask = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    return torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ v

def load(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    dtypes = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        b, e = info['data_offsets']
        t = torch.frombuffer(bytearray(raw[8 + n + b:8 + n + e]), dtype=dtypes[info['dtype']])
        out[name] = t.reshape(info['shape']).float()
    return out

def gpt2(w, c, ids):
    B, T = ids.shape
    C, H = c['n_embd'], c['n_head']
    x = w['transformer.wte.weight'][ids] + w['transformer.wpe.weight'][:T]
    for l in range(c['n_layer']):
        p = f'transformer.h.{l}.'
        h = F.layer_norm(x, (C,), w[p + 'ln_1.weight'], w[p + 'ln_1.bias'], c['layer_norm_epsilon'])
        q, k, v = (h @ w[p + 'attn.c_attn.weight'] + w[p + 'attn.c_attn.bias']).split(C, dim=2)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
        y = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ w[p + 'attn.c_proj.weight'] + w[p + 'attn.c_proj.bias']
        h = F.layer_norm(x, (C,), w[p + 'ln_2.weight'], w[p + 'ln_2.bias'], c['layer_norm_epsilon'])
        h = F.gelu(h @ w[p + 'mlp.c_fc.weight'] + w[p + 'mlp.c_fc.bias'], approximate='tanh')
        x = x + h @ w[p + 'mlp.c_proj.weight'] + w[p + 'mlp.c_proj.bias']
    x = F.layer_norm(x, (C,), w['transformer.ln_f.weight'], w['transformer.ln_f.bias'], c['layer_norm_epsilon'])
    return x @ w['transformer.wte.weight'].t()

def rms(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

def llama(w, c, ids):
    B, T = ids.shape
    C, H, KV = c['hidden_size'], c['num_attention_heads'], c['num_key_value_heads']
    hs = C // H
    inv = 1.0 / (c.get('rope_theta', 10000.0) ** (torch.arange(0, hs, 2).float() / hs))
    ang = torch.outer(torch.arange(T).float(), inv)
    cos, sin = torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()
    rot = lambda t: t * cos + torch.cat([-t[..., hs // 2:], t[..., :hs // 2]], -1) * sin
    x = w['model.embed_tokens.weight'][ids]
    for l in range(c['num_hidden_layers']):
        p = f'model.layers.{l}.'
        h = rms(x, w[p + 'input_layernorm.weight'], c['rms_norm_eps'])
        q = (h @ w[p + 'self_attn.q_proj.weight'].t()).view(B, T, H, hs).transpose(1, 2)
        k = (h @ w[p + 'self_attn.k_proj.weight'].t()).view(B, T, KV, hs).transpose(1, 2)
        v = (h @ w[p + 'self_attn.v_proj.weight'].t()).view(B, T, KV, hs).transpose(1, 2)
        k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
        y = causal_attention(rot(q), rot(k), v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ w[p + 'self_attn.o_proj.weight'].t()
        h = rms(x, w[p + 'post_attention_layernorm.weight'], c['rms_norm_eps'])
        x = x + (F.silu(h @ w[p + 'mlp.gate_proj.weight'].t()) * (h @ w[p + 'mlp.up_proj.weight'].t())) @ w[p + 'mlp.down_proj.weight'].t()
    x = rms(x, w['model.norm.weight'], c['rms_norm_eps'])
    head = w.get('lm_head.weight', w['model.embed_tokens.weight'])
    return x @ head.t()

def main():
    folder, threads, B, T, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    torch.set_num_threads(threads)
    c = json.load(open(folder + '/config.json'))
    w = load(folder + '/model.safetensors')
    forward = gpt2 if c['model_type'] == 'gpt2' else llama
    ids = (torch.arange(B * T) * 7919 + 13).remainder(c['vocab_size']).view(B, T)
    with torch.no_grad():
        forward(w, c, ids)
        start, calls = time.time(), 0
        while time.time() - start < seconds:
            forward(w, c, ids)
            calls += 1
    print(f'{calls * B * T / (time.time() - start):.0f}')

if __name__ == '__main__':
    main()
