"""Synthesis, augmentation and features for the speaker model (numpy/scipy; Debian python3-numpy/scipy).

Features are the audio package's exactly: scripts/audio/fbank_reference.py's Kaldi fbank (checked against
shared/audio/fbank.ts by test/unit/audio/fbank.test.ts and, on real speech, by check_fbank.py) followed by
per-bin mean subtraction, as shared/audio/speaker.ts does before the model.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy import signal
from scipy.io import wavfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "audio"))
from fbank_reference import kaldi_fbank  # noqa: E402

FS = 16000


def features(wave: np.ndarray) -> np.ndarray:
    """frames x 80 log-mel fbank with per-bin mean subtraction (shared/audio/speaker.ts's input)."""
    feats = kaldi_fbank(np.asarray(wave, dtype=np.float32))
    return (feats - feats.mean(axis=0, keepdims=True)).astype(np.float32)


def _read(path):
    rate, data = wavfile.read(path)
    data = data.astype(np.float32) / 32768.0 if data.dtype == np.int16 else data.astype(np.float32)
    if data.ndim > 1:
        data = data.mean(axis=1)
    return rate, data


def _to_16k(rate, data, warp=1.0):
    # A warp w > 1 plays the voice faster: pitch and formants rise by w, as with a shorter vocal tract.
    from fractions import Fraction
    frac = Fraction(FS / (rate * warp)).limit_denominator(400)
    return signal.resample_poly(data, frac.numerator, frac.denominator).astype(np.float32)


def trim(wave, threshold_db=-40.0, pad_s=0.1):
    """Drops leading and trailing silence (frames 40 dB below the loudest), keeping 0.1 s each side."""
    frame = 160
    n = len(wave) // frame
    if n == 0:
        return wave
    energy = (wave[: n * frame].reshape(n, frame) ** 2).mean(axis=1) + 1e-12
    db = 10 * np.log10(energy / energy.max())
    voiced = np.nonzero(db > threshold_db)[0]
    if len(voiced) == 0:
        return wave
    pad = int(pad_s * FS / frame)
    start = max(0, voiced[0] - pad) * frame
    end = min(n, voiced[-1] + 1 + pad) * frame
    return wave[start:end]


def synthesise(speaker, text, rng):
    """One utterance of a recipe speaker, 16 kHz float32 in [-1, 1], silences trimmed, peak 0.5 +- 6 dB."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "u.wav")
        if speaker["engine"] == "espeak":
            pitch = int(np.clip(speaker["pitch"] + rng.integers(-4, 5), 0, 99))
            rate = int(rng.integers(140, 195))
            subprocess.run(["espeak-ng", "-v", speaker["voice"], "-p", str(pitch), "-s", str(rate), "-w", out,
                            text], check=True, capture_output=True)
        elif speaker["engine"] == "flite":
            f0 = speaker["f0"] * float(rng.uniform(0.93, 1.07))
            stretch = float(rng.uniform(0.85, 1.2))
            subprocess.run(["flite", "-voice", speaker["voice"], "-t", text, "-o", out, "--setf",
                            f"int_f0_target_mean={f0:.0f}", "--setf", f"duration_stretch={stretch:.2f}"],
                           check=True, capture_output=True)
        else:
            subprocess.run(["text2wave", "-o", out, "-eval", f"(voice_{speaker['voice']})"], input=text.encode(),
                           check=True, capture_output=True)
        rate, data = _read(out)
    wave = trim(_to_16k(rate, data, speaker.get("warp", 1.0)))
    peak = np.abs(wave).max() + 1e-9
    return (wave / peak * 0.5 * 10 ** (rng.uniform(-6, 6) / 20)).astype(np.float32)


# ---- augmentation ----------------------------------------------------------------------------------------

def coloured_noise(n, rng, kind):
    white = rng.standard_normal(n)
    if kind == "white":
        return white
    spec = np.fft.rfft(white)
    f = np.maximum(np.fft.rfftfreq(n, 1 / FS), 20.0)
    spec = spec / (np.sqrt(f) if kind == "pink" else f)  # pink 1/f power, brown 1/f^2
    return np.fft.irfft(spec, n)


def add_noise(wave, snr_db, rng, babble=None):
    kind = rng.choice(["white", "pink", "brown", "babble"] if babble is not None else ["white", "pink", "brown"])
    if kind == "babble":
        noise = np.zeros(len(wave))
        for other in babble:
            reps = np.resize(other, len(wave))
            noise += np.roll(reps, rng.integers(0, len(wave)))
    else:
        noise = coloured_noise(len(wave), rng, kind)
    p_sig = np.mean(wave ** 2) + 1e-12
    p_noise = np.mean(noise ** 2) + 1e-12
    return (wave + noise * np.sqrt(p_sig / (p_noise * 10 ** (snr_db / 10)))).astype(np.float32)


def room_impulse(rng, rt60=None):
    """A synthetic room: direct path, a few early reflections, and exponentially decaying diffuse noise."""
    rt60 = rt60 if rt60 is not None else float(rng.uniform(0.2, 0.9))
    n = int(rt60 * FS)
    t = np.arange(n) / FS
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.003 * FS)] = 0
    rir = tail * float(rng.uniform(0.2, 0.6))
    rir[0] = 1.0
    for _ in range(6):
        rir[int(rng.uniform(0.003, 0.04) * FS)] += float(rng.uniform(-0.5, 0.5))
    return rir / np.sqrt(np.sum(rir ** 2))


def reverb(wave, rng, rt60=None):
    out = signal.fftconvolve(wave, room_impulse(rng, rt60))[: len(wave)]
    return (out / (np.abs(out).max() + 1e-9) * np.abs(wave).max()).astype(np.float32)


def telephone(wave, rng):
    low = float(rng.uniform(250, 400))
    high = float(rng.uniform(3000, 3600))
    sos = signal.butter(4, [low, high], btype="bandpass", fs=FS, output="sos")
    narrow = signal.sosfilt(sos, wave)
    narrow = signal.resample_poly(signal.resample_poly(narrow, 1, 2), 2, 1)
    # mu-law companding, as on a G.711 line
    mu = 255.0
    peak = np.abs(narrow).max() + 1e-9
    x = narrow / peak
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    y = np.round(y * 127) / 127
    x = np.sign(y) * (np.power(1 + mu, np.abs(y)) - 1) / mu
    return (x * peak).astype(np.float32)


def clip(wave, rng):
    gain = 10 ** (rng.uniform(6, 20) / 20)
    return np.clip(wave * gain, -1.0, 1.0).astype(np.float32)


def far(wave, rng):
    quiet = wave * 10 ** (rng.uniform(-25, -10) / 20)
    sos = signal.butter(2, float(rng.uniform(3000, 6000)), btype="lowpass", fs=FS, output="sos")
    return add_noise(reverb(signal.sosfilt(sos, quiet).astype(np.float32), rng, rt60=float(rng.uniform(0.5, 1.0))),
                     float(rng.uniform(3, 15)), rng)


def augment(wave, rng, babble=None):
    """One random degradation (or a chain of two), the kinds a home microphone meets."""
    kinds = ["noise", "reverb", "telephone", "clip", "far", "reverb+noise", "telephone+noise", "gain"]
    kind = kinds[rng.integers(0, len(kinds))]
    out = wave
    if "reverb" in kind:
        out = reverb(out, rng)
    if "telephone" in kind:
        out = telephone(out, rng)
    if kind == "clip":
        out = clip(out, rng)
    if kind == "far":
        out = far(out, rng)
    if "noise" in kind:
        out = add_noise(out, float(rng.choice([20, 15, 10, 5, 0])), rng, babble)
    if kind == "gain":
        out = out * 10 ** (rng.uniform(-30, 0) / 20)
    return np.clip(out, -1, 1).astype(np.float32)
