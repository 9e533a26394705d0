"""Trains SpeakerNet on prepare.py's features, bounded by wall time, on 2 CPU threads.

Run: /usr/bin/python3 scripts/speaker/train.py [data-dir] [minutes] [resume]   (default /tmp/speaker-train, 12 min)
Writes <data-dir>/model.pt (and head.pt, train-summary.json); export.py turns it into the ONNX model, its card
and its cohort. "resume" continues from model.pt/head.pt with the full margin (a second, shorter budget).
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from model import AamSoftmax, SpeakerNet, EMBEDDING_DIM  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(0)
BATCH = 64
MARGIN = 0.2
CHECKPOINT_STEPS = 250


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "/tmp/speaker-train"
    minutes = float(sys.argv[2]) if len(sys.argv) > 2 else 12.0
    resume = len(sys.argv) > 3 and sys.argv[3] == "resume"
    d = np.load(os.path.join(data_dir, "train.npz"))
    feats, offsets, labels = d["feats"], d["offsets"], d["labels"]
    classes = int(labels.max()) + 1
    n = len(labels)
    lengths = offsets[1:] - offsets[:-1]
    print(f"{n} examples of {classes} speakers", flush=True)
    model = SpeakerNet()
    head = AamSoftmax(EMBEDDING_DIM, classes)
    print(f"{sum(p.numel() for p in model.parameters())} parameters", flush=True)
    summary_path = os.path.join(data_dir, "train-summary.json")
    summary = {"speakers": classes, "examples": n, "steps": 0, "minutes": 0.0, "batch": BATCH}
    if resume:
        model.load_state_dict(torch.load(os.path.join(data_dir, "model.pt")))
        if os.path.exists(os.path.join(data_dir, "head.pt")):
            head.load_state_dict(torch.load(os.path.join(data_dir, "head.pt")))
        if os.path.exists(summary_path):
            summary = json.load(open(summary_path))
    opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=2e-3, weight_decay=2e-5)

    def save(steps_done, minutes_done, loss, acc):
        """Checkpoints so a stopped run (the session's end, a crash) keeps what it learnt and can resume."""
        torch.save(model.state_dict(), os.path.join(data_dir, "model.pt"))
        torch.save(head.state_dict(), os.path.join(data_dir, "head.pt"))
        done = dict(summary, steps=summary["steps"] + steps_done,
                    minutes=round(summary["minutes"] + minutes_done, 1),
                    finalLoss=round(loss.item(), 3), finalTrainAccuracy=round(acc.item(), 3))
        with open(summary_path, "w") as f:
            json.dump(done, f)

    rng = np.random.default_rng(0)
    budget = minutes * 60
    start = time.time()
    step = 0
    while True:
        elapsed = time.time() - start
        if elapsed > budget:
            break
        progress = elapsed / budget
        for g in opt.param_groups:  # cosine decay over the time budget
            top = 5e-4 if resume else 3e-3
            g["lr"] = 1e-4 + (top - 1e-4) * 0.5 * (1 + math.cos(math.pi * progress))
        margin = MARGIN if resume else MARGIN * min(1.0, max(0.0, progress - 0.2) / 0.4)  # margin warm-up: learn to separate first
        # Crops of 0.6-1.4 s, so short utterances are seen as often as long ones.
        crop = int(rng.integers(60, 141))
        idx = rng.integers(0, n, BATCH)
        batch = np.zeros((BATCH, crop, 80), dtype=np.float32)
        for b, i in enumerate(idx):
            length = lengths[i]
            s = offsets[i] + (rng.integers(0, length - crop + 1) if length > crop else 0)
            chunk = feats[s:s + min(crop, length)].astype(np.float32)
            # Re-normalise the crop's mean, as the audio package does for every utterance it embeds.
            chunk -= chunk.mean(axis=0, keepdims=True)
            batch[b] = chunk if len(chunk) == crop else np.resize(chunk, (crop, 80))  # short ones loop
        # SpecAugment-style masks: a band of bins and a stretch of frames.
        for b in range(BATCH):
            f0 = rng.integers(0, 72)
            batch[b, :, f0:f0 + rng.integers(0, 8)] = 0
            t0 = rng.integers(0, crop)
            batch[b, t0:t0 + rng.integers(0, 10)] = 0
        model.train()
        emb = model(torch.from_numpy(batch))
        loss, acc = head(emb, torch.from_numpy(labels[idx]).long(), margin)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 25 == 0:
            print(f"step {step} {elapsed / 60:.1f} min loss {loss.item():.3f} acc {acc.item():.3f} "
                  f"margin {margin:.2f}", flush=True)
        if step % CHECKPOINT_STEPS == 0:
            save(step, (time.time() - start) / 60, loss, acc)
    save(step, (time.time() - start) / 60, loss, acc)
    print(f"saved after {step} steps", flush=True)


if __name__ == "__main__":
    main()
