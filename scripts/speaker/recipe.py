"""The data recipe: which synthetic voices train, calibrate and evaluate the default speaker model.

A "speaker" is one synthesiser voice with fixed traits (espeak-ng language + voice variant + base pitch, or a
flite/festival voice with a fixed pitch target), optionally with a vocal-tract warp (resampling, which moves
pitch and formants together the way a longer or shorter vocal tract does). Each utterance of a speaker varies
speaking rate and pitch a little, as a person does from one sentence to the next.

Three disjoint pools, so the numbers say how the model does on voices it has never heard:
  * training: espeak-ng variants not listed below, any language, plus flite and festival voices;
  * calibration (thresholds in the model card): the CALIBRATION_VARIANTS, English accents, never trained on;
  * evaluation (the committed set npm run eval:speaker reads): the EVAL_VARIANTS, English accents, never
    trained or calibrated on, and its sentences are not in the training sentences either.
Everything is seeded: the same recipe gives the same speakers.
"""
import random

# espeak-ng variants held out of training. Every one is an ordinary human-sounding variant (no robots,
# whispers or effects), so the evaluation is about people, not novelty voices.
EVAL_VARIANTS = ["m1", "m3", "m5", "m7", "f1", "f3", "f5", "klatt2", "klatt4", "Alicia", "benjamin",
                 "david", "linda", "steph", "iven2", "Gene", "Andrea", "Mario", "paul", "sandro"]
CALIBRATION_VARIANTS = ["m2", "m6", "f2", "f4", "klatt3", "edward", "Annie", "max", "michel", "quincy",
                        "aunty", "john"]

ENGLISH = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
           "en-us-nyc"]
# Latin-script languages: reading English text, they give accents rather than letter spelling.
OTHER_LANGUAGES = ["de", "fr-fr", "es", "it", "pt", "nl", "sv", "da", "nb", "fi", "pl", "cs", "sk", "hu",
                   "ro", "hr", "sl", "et", "lv", "lt", "id", "ms", "sw", "tr", "vi", "af", "ca", "eu", "ga",
                   "cy", "is", "en-us", "en-gb", "en-gb-scotland", "en-029"]

TRAIN_SENTENCES = [
    "Please remind me to call my sister tomorrow morning at nine.",
    "The kitchen lights are still on, could you turn them off?",
    "We should buy fresh bread and some apples on the way home.",
    "What time does the pharmacy close on Saturdays?",
    "I left my keys on the table next to the front door.",
    "Can you play some quiet music while I read?",
    "Tell me the weather forecast for the weekend.",
    "My meeting with the dentist moved to Thursday afternoon.",
    "Add milk, eggs and butter to the shopping list.",
    "How long should I boil the potatoes for the salad?",
    "The children have a school trip to the museum next week.",
    "Set a timer for twenty minutes, the cake is in the oven.",
    "Did anyone feed the cat this morning?",
    "I need to finish the report before the end of the month.",
    "Let us go for a walk in the park after lunch.",
    "The train to the city leaves every half an hour.",
    "Remember that grandma is coming over for dinner on Sunday.",
    "Could you lower the heating a little, it is too warm in here.",
    "Write down that the plumber charged us eighty pounds.",
    "Which film did we want to watch tonight?",
    "The garden needs watering, it has not rained for days.",
    "Book a table for four people at the Italian place.",
    "I think the printer is out of paper again.",
    "We are running low on coffee and washing powder.",
    "Wake me up at half past six tomorrow, please.",
    "The parcel should arrive between ten and twelve.",
    "Ask Peter whether he can pick up the kids from football.",
    "My phone battery is almost empty, where is the charger?",
    "Turn the volume down, the baby is sleeping.",
    "Next summer we could rent a cottage by the sea.",
    "How many tablespoons of sugar go into this recipe?",
    "Please lock the back door before you go to bed.",
]
# Evaluation sentences: none of them is a training sentence.
EVAL_SENTENCES = [
    "Good morning, is there any news from the bank today?",
    "I would like to hear the latest football results.",
    "Put the blue jacket in the washing machine, please.",
    "Our neighbours are having a party on Friday night.",
    "Could you find me a recipe for vegetable soup?",
    "The car needs new tyres before the winter.",
    "Remind me to water the plants every second day.",
    "Shall we invite your parents for lunch next weekend?",
]

FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
WARPS = [0.9, 0.95, 1.0, 1.0, 1.05, 1.1]


def espeak_variants_for_training(all_variants):
    held_out = set(EVAL_VARIANTS) | set(CALIBRATION_VARIANTS)
    return [v for v in all_variants if v not in held_out]


def training_speakers(all_variants, count=480, seed=1):
    rng = random.Random(seed)
    variants = espeak_variants_for_training(all_variants)
    speakers = []
    seen = set()
    while len(speakers) < count:
        spk = {
            "engine": "espeak",
            "voice": f"{rng.choice(OTHER_LANGUAGES)}+{rng.choice(variants)}",
            "pitch": rng.randrange(10, 90, 5),
            "warp": rng.choice(WARPS),
        }
        key = (spk["voice"], spk["pitch"], spk["warp"])
        if key in seen:
            continue
        seen.add(key)
        speakers.append(spk)
    for voice in FLITE_VOICES:
        for f0 in (90, 120, 160, 210):
            for warp in (0.95, 1.05):
                speakers.append({"engine": "flite", "voice": voice, "f0": f0, "warp": warp})
    for warp in (0.9, 0.95, 1.0, 1.05, 1.1):
        speakers.append({"engine": "festival", "voice": "kal_diphone", "warp": warp})
    return speakers


def held_out_speakers(variants, count, seed):
    """English-accented speakers of held-out variants; two speakers may share a variant (different accent
    and pitch), like relatives who sound alike."""
    rng = random.Random(seed)
    speakers = []
    seen = set()
    i = 0
    while len(speakers) < count:
        variant = variants[i % len(variants)]
        i += 1
        spk = {"engine": "espeak", "voice": f"{rng.choice(ENGLISH)}+{variant}",
               "pitch": rng.randrange(20, 80, 5), "warp": 1.0}
        key = (spk["voice"], spk["pitch"])
        if key in seen:
            continue
        seen.add(key)
        speakers.append(spk)
    return speakers


def eval_speakers(count=24):
    return held_out_speakers(EVAL_VARIANTS, count, seed=7)


def calibration_speakers(count=24):
    return held_out_speakers(CALIBRATION_VARIANTS, count, seed=11)
