#!/usr/bin/env python3
"""Reference values for shared/audio/fbank.ts, computed independently with numpy.

Written from Kaldi's feature-fbank/mel-computations definitions (as torchaudio.compliance.kaldi.fbank
implements them), vectorised over frames with numpy's rfft, sharing no code with the TypeScript. Needs
numpy (Debian: apt-get install python3-numpy). Writes test/fixtures/audio/fbank-reference.json, which
test/unit/audio/fbank.test.ts compares against.

Run: python3 scripts/audio/fbank_reference.py
"""
import json
import os

import numpy as np

FS = 16000
N = 8000  # 0.5 s -> 48 frames


def test_signal() -> np.ndarray:
    """The fixed signal; test/unit/audio/fbank.test.ts builds the same one (keep the two in step)."""
    n = np.arange(N, dtype=np.float64)
    t = n / FS
    chirp = 0.4 * np.sin(2 * np.pi * (100 * t + 0.5 * 13800 * t * t))  # 100 Hz -> 7 kHz over 0.5 s
    tone = 0.2 * np.sin(2 * np.pi * 440 * t + 0.3)
    pseudo_noise = 0.05 * np.sin(n * n * 0.001)
    return (chirp + tone + pseudo_noise).astype(np.float32)


def kaldi_fbank(wave: np.ndarray, num_bins=80, frame_length=400, frame_shift=160, preemph=0.97,
                low_freq=20.0, high_freq=0.0) -> np.ndarray:
    x = wave.astype(np.float64) * 32768.0
    num_frames = 1 + (len(x) - frame_length) // frame_shift  # snip_edges=True
    idx = np.arange(frame_length)[None, :] + frame_shift * np.arange(num_frames)[:, None]
    frames = x[idx]
    frames = frames - frames.mean(axis=1, keepdims=True)  # remove_dc_offset
    shifted = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)  # replicate-pad on the left
    frames = frames - preemph * shifted
    i = np.arange(frame_length)
    povey = (0.5 - 0.5 * np.cos(2 * np.pi * i / (frame_length - 1))) ** 0.85
    frames = frames * povey
    nfft = 1 << (frame_length - 1).bit_length()
    power = np.abs(np.fft.rfft(frames, n=nfft, axis=1)) ** 2  # (frames, nfft/2 + 1)

    nyquist = FS / 2
    if high_freq <= 0:
        high_freq += nyquist

    def mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f) / 700.0)

    mel_low, mel_high = mel(low_freq), mel(high_freq)
    delta = (mel_high - mel_low) / (num_bins + 1)
    fft_mels = mel(np.arange(nfft // 2) * FS / nfft)  # Kaldi leaves the Nyquist bin out
    b = np.arange(num_bins)[:, None]
    left = mel_low + b * delta
    centre = left + delta
    right = centre + delta
    up = (fft_mels[None, :] - left) / (centre - left)
    down = (right - fft_mels[None, :]) / (right - centre)
    weights = np.maximum(0.0, np.minimum(up, down))  # (bins, nfft/2)
    energies = power[:, : nfft // 2] @ weights.T
    return np.log(np.maximum(energies, np.finfo(np.float32).eps))


def main():
    feats = kaldi_fbank(test_signal())
    out = {
        "description": "Kaldi fbank (80 bins, 25/10 ms, povey, preemphasis 0.97, no dither, no mean "
                       "normalisation) of the fixed signal in scripts/audio/fbank_reference.py, by numpy",
        "sample_rate": FS,
        "samples": N,
        "frames": int(feats.shape[0]),
        "bins": int(feats.shape[1]),
        "fbank": [[round(float(v), 5) for v in row] for row in feats],
    }
    path = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "audio", "fbank-reference.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.normpath(path)}: {feats.shape[0]} frames x {feats.shape[1]} bins")


if __name__ == "__main__":
    main()
