#!/usr/bin/env bash
# Makes the committed test audio in test/fixtures/audio from synthetic voices (espeak-ng) and sox.
# Needs Debian's espeak-ng, sox, libsox-fmt-all (for MP3) and flac:
#   apt-get update && apt-get install -y espeak-ng sox libsox-fmt-all flac
# The output is committed, so tests never run this. Keep every file short: the whole folder stays a few
# hundred KB. Re-running it may change bytes (encoder versions), not what the tests assert.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-test/fixtures/audio} # another folder as $1 to try the script without touching the fixtures
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

# Three voices that differ in voice variant and pitch, as different people would.
declare -A VOICE=([a]="en-us+m3 -p 35 -s 165" [b]="en-us+f2 -p 70 -s 160" [c]="en-gb-scotland+m7 -p 50 -s 150")
SENTENCES=(
  "Please remind me to call my sister tomorrow morning at nine."
  "The kitchen lights are still on, could you turn them off?"
  "We should buy fresh bread and some apples on the way home."
)

say() { # voice sentence out.wav: espeak-ng speaks at 22050 Hz; trim its silences to 0.2 s each side
  # shellcheck disable=SC2086
  espeak-ng -v ${VOICE[$1]} -w "$TMP/raw.wav" "$2"
  sox "$TMP/raw.wav" "$3" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0.2 0.2
}

# Speaker fixtures: each voice, each sentence, 16 kHz mono MP3 at 48 kbit/s (a ninth of the size of WAV;
# every voice goes through the same codec, so comparisons stay fair).
for v in a b c; do
  for i in 0 1 2; do
    say "$v" "${SENTENCES[$i]}" "$TMP/$v$i.wav"
    sox "$TMP/$v$i.wav" -r 16000 -c 1 -C 48 "$OUT/voice-$v-$((i + 1)).mp3"
  done
done

# A short utterance (voice a) for format coverage and conditions.
say a "Mira, turn off the kitchen lights." "$TMP/short.wav"
SRC="$TMP/short.wav" # 22050 Hz mono 16-bit
sox "$SRC" -r 22050 -c 1 -C 32 "$OUT/speech-22k.mp3"
sox "$SRC" -r 44100 -c 2 -b 24 "$OUT/speech-44k-stereo-24bit.flac" trim 0 1
sox "$SRC" -r 8000 -c 1 -b 8 -e unsigned-integer "$OUT/speech-8k-u8.wav"
sox "$SRC" -r 16000 -c 1 -b 16 -e signed-integer -t raw "$OUT/speech-16k.pcm" trim 0 1.5

# Conditions for VAD and quality: silence, noise, clipped and very quiet speech. (Tests add noise at known
# levels to speech-16k.pcm themselves, which controls the SNR exactly.)
sox -n -r 16000 -c 1 -b 16 "$OUT/silence.flac" trim 0 2
sox -n -r 16000 -c 1 -b 16 "$OUT/noise.flac" synth 1 pinknoise vol 0.3
sox "$SRC" -r 16000 -c 1 -b 16 "$OUT/speech-clipped.flac" gain 24
sox "$SRC" -r 16000 -c 1 -b 16 "$OUT/speech-quiet.flac" gain -40
# A decompression bomb: 10 minutes of digital silence in 65535-sample FLAC blocks, about 11 KB on disk.
sox -D -n -r 16000 -c 1 -b 16 "$TMP/long-silence.wav" trim 0 600
flac -s -f --lax -b 65535 -o "$OUT/silence-10min.flac" "$TMP/long-silence.wav"

ls -l "$OUT"
du -sh "$OUT"
