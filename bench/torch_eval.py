"""PyTorch recomputation of an evaluation's multiple-choice log-likelihoods.

Reads an evaluation record written by `model-run evaluate` and the model folder it was
computed on; for every multiple-choice item and choice, runs torch_forward.py's plain
PyTorch forward pass (an implementation independent of omlkit) on the recorded token ids,
cut to the model's positions as the record's definition says, and sums the continuation's
log-probabilities. Prints one JSON line (choices compared, largest absolute difference,
whether the predictions agree) and exits 1 when any difference exceeds the tolerance.
usage: torch_eval.py EVALUATION.jsonl MODEL_DIR [TOLERANCE=1e-4]
"""
import json, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_forward import gpt2, llama, load  # noqa: E402


def main():
    record_path, folder = sys.argv[1], sys.argv[2]
    tolerance = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-4
    record = json.loads(open(record_path).readline())
    c = json.load(open(folder + '/config.json'))
    forward = gpt2 if c['model_type'] == 'gpt2' else llama
    positions = c.get('n_positions', c.get('max_position_embeddings'))
    weights = {}
    index = folder + '/model.safetensors.index.json'
    files = sorted(set(json.load(open(index))['weight_map'].values())) if os.path.exists(index) else ['model.safetensors']
    for f in files:
        weights.update(load(folder + '/' + f))
    torch.set_num_threads(2)
    compared, worst, agree = 0, 0.0, True
    with torch.no_grad():
        for task in record['details']['tasks']:
            if task['kind'] != 'multiple_choice':
                continue
            for item in task['items']:
                mine = []
                for ids, n, recorded in zip(item['tokens'], item['continuation_tokens'], item['loglikelihoods']):
                    inp = ids[:-1][-positions:]
                    targets = torch.tensor(ids[len(ids) - n:])
                    logits = forward(weights, c, torch.tensor([inp]))[0].double()
                    logp = torch.log_softmax(logits[-n:], dim=-1).gather(1, targets[:, None]).sum().item()
                    worst = max(worst, abs(logp - recorded))
                    mine.append(logp)
                    compared += 1
                agree &= max(range(len(mine)), key=lambda i: (mine[i], -i)) == item['pred']
    print(json.dumps({'model': folder, 'choices': compared, 'max_abs_difference': worst,
                      'tolerance': tolerance, 'predictions_agree': agree}))
    sys.exit(0 if compared and worst <= tolerance and agree else 1)


if __name__ == '__main__':
    main()
