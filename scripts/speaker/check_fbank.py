"""Checks that the training features (data.features) are shared/audio/fbank.ts's numbers on real speech:
synthesises a few utterances (clean and degraded), runs the TypeScript through fbank-dump.ts, and compares.

Run from the repository root: /usr/bin/python3 scripts/speaker/check_fbank.py
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import data  # noqa: E402

rng = np.random.default_rng(3)
worst = 0.0
with tempfile.TemporaryDirectory() as tmp:
    for i, spk in enumerate([{"engine": "espeak", "voice": "en-us+m3", "pitch": 40},
                             {"engine": "flite", "voice": "slt", "f0": 180},
                             {"engine": "festival", "voice": "kal_diphone"}]):
        wave = data.synthesise(spk, "The kitchen lights are still on, could you turn them off?", rng)
        for j, w in enumerate([wave, data.augment(wave, rng), data.telephone(wave, rng), data.clip(wave, rng)]):
            src, dst = os.path.join(tmp, "in.f32"), os.path.join(tmp, "out.f32")
            w.astype("<f4").tofile(src)
            subprocess.run(["npx", "tsx", "scripts/speaker/fbank-dump.ts", src, dst], check=True)
            ts = np.fromfile(dst, dtype="<f4").reshape(-1, 80)
            py = data.features(w)
            assert ts.shape == py.shape, (ts.shape, py.shape)
            diff = float(np.abs(ts - py).max())
            worst = max(worst, diff)
            print(f"{spk['engine']} #{j}: {py.shape[0]} frames, max |ts - py| = {diff:.2e}")
print(f"worst {worst:.2e}")
sys.exit(0 if worst < 1e-4 else 1)
