"""Writes the committed evaluation set, test/fixtures/speaker-eval/: clean utterances of the recipe's
evaluation speakers (espeak-ng variants never trained or calibrated on, English accents, sentences not in the
training text), 16 kHz mono MP3 at 40 kbit/s, and manifest.json. npm run eval:speaker applies the degraded
conditions itself (scripts/speaker/eval/conditions.ts), so the set stays small and CI needs no synthesiser.

Speakers 0-15 are the enrolled household; 16-19 are strangers of unseen variants; 20-23 are "relatives":
the same variant as speakers 0-3 with another accent and pitch (the hardest impostors).
Utterances 0-2 of each speaker enrol, 3-7 are tests.

Run: /usr/bin/python3 scripts/speaker/make_eval_set.py   (needs espeak-ng, sox with MP3: libsox-fmt-all)

`make_eval_set.py calibration DIR` writes a calibration set of the same shape into DIR (not committed): the
recipe's calibration speakers (variants neither trained on nor in the evaluation set) saying training
sentences, for scripts/speaker/calibrate.ts, which sets the model card's thresholds from it.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy.io import wavfile

sys.path.insert(0, os.path.dirname(__file__))
import data  # noqa: E402
import recipe  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "speaker-eval")
ENROLLED = 16
ENROL_UTTERANCES = 3


def main():
    calibration = len(sys.argv) > 2 and sys.argv[1] == "calibration"
    out = sys.argv[2] if calibration else OUT
    os.makedirs(out, exist_ok=True)
    speakers = recipe.calibration_speakers(24) if calibration else recipe.eval_speakers(24)
    sentences = recipe.TRAIN_SENTENCES[:8] if calibration else recipe.EVAL_SENTENCES
    purpose = "scripts/speaker/calibrate.ts" if calibration else "npm run eval:speaker"
    manifest = {"description": f"Clean utterances of held-out synthetic voices for {purpose}, made by "
                               "scripts/speaker/make_eval_set.py", "enrolled": ENROLLED,
                "enrolUtterances": ENROL_UTTERANCES, "speakers": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i, spk in enumerate(speakers):
            rng = np.random.default_rng((900 if calibration else 700) + i)
            files = []
            for j, text in enumerate(sentences):
                wave = data.synthesise(spk, text, rng)
                wav = os.path.join(tmp, "u.wav")
                wavfile.write(wav, data.FS, (wave * 32767).astype(np.int16))
                name = f"s{i:02d}-u{j}.mp3"
                subprocess.run(["sox", wav, "-C", "40", os.path.join(out, name)], check=True)
                files.append(name)
            role = "enrolled" if i < ENROLLED else ("relative" if i >= 20 else "stranger")
            manifest["speakers"].append({"id": f"s{i:02d}", "voice": spk["voice"], "pitch": spk["pitch"],
                                         "role": role, "files": files})
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
