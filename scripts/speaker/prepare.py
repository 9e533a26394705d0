"""Synthesises the training voices of recipe.py, augments them and stores their features for train.py.

Each utterance is kept clean and in AUGMENTED_COPIES degraded copies (data.augment: noise of several kinds at
20-0 dB SNR, babble of other training speakers, synthetic rooms, telephone band with mu-law, clipping, far
field, gain); features are the audio package's (data.features), at most MAX_FRAMES frames per copy (train.py
crops further). Output (not committed): <out>/train.npz with feats (float16, concatenated), offsets, labels.

Run: /usr/bin/python3 scripts/speaker/prepare.py [out-dir]   (about 4 minutes on 2 cores)
"""
import os
import subprocess
import sys
from multiprocessing import Pool

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import data  # noqa: E402
import recipe  # noqa: E402

UTTERANCES_PER_SPEAKER = 10
AUGMENTED_COPIES = 2
MAX_FRAMES = 300


def espeak_variants():
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True).stdout
    return [line.split()[4].split("/")[-1] for line in out.splitlines()[1:] if line.strip()]


def speaker_job(args):
    index, speaker = args
    rng = np.random.default_rng(1000 + index)
    sentences = rng.choice(len(recipe.TRAIN_SENTENCES), UTTERANCES_PER_SPEAKER, replace=False)
    waves = [data.synthesise(speaker, recipe.TRAIN_SENTENCES[s], rng) for s in sentences]
    babble_rng = np.random.default_rng(5000 + index)
    feats = []
    for i, wave in enumerate(waves):
        # Babble from this speaker's other sentences, time-shifted and pitch-warped, stands in for a
        # room of other talkers (other speakers' audio is in other processes).
        others = [waves[j] for j in babble_rng.choice(len(waves), 3) if j != i]
        for copy in range(1 + AUGMENTED_COPIES):
            w = wave if copy == 0 else data.augment(wave, rng, others or None)
            f = data.features(w)
            if len(f) > MAX_FRAMES:
                start = rng.integers(0, len(f) - MAX_FRAMES + 1)
                f = f[start:start + MAX_FRAMES]
            feats.append(f.astype(np.float16))
    return index, feats


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "/tmp/speaker-train"
    os.makedirs(out_dir, exist_ok=True)
    speakers = recipe.training_speakers(espeak_variants())
    print(f"{len(speakers)} training speakers", flush=True)
    all_feats, labels = [], []
    with Pool(2) as pool:
        for done, (index, feats) in enumerate(pool.imap_unordered(speaker_job, enumerate(speakers), chunksize=4)):
            all_feats.extend(feats)
            labels.extend([index] * len(feats))
            if done % 50 == 0:
                print(f"{done}/{len(speakers)} speakers", flush=True)
    lengths = np.array([len(f) for f in all_feats])
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    np.savez(os.path.join(out_dir, "train.npz"), feats=np.concatenate(all_feats), offsets=offsets,
             labels=np.array(labels), speakers=np.array([str(s) for s in speakers]))
    print(f"{len(all_feats)} feature matrices, {offsets[-1]} frames", flush=True)


if __name__ == "__main__":
    main()
