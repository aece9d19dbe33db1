#!/usr/bin/env bash
# Regenerates the simulator's speech fixtures: 8 kHz μ-law, raw, no header (what Twilio streams).
# Needs Debian's espeak-ng and sox. -D turns off dither so the output is reproducible byte for byte.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { # name voice text
  espeak-ng -v "$2" -s 190 -w "$tmp/$1.wav" "$3"
  # Trim leading/trailing silence so turn timing depends on the script, not on the synthesizer.
  sox -D "$tmp/$1.wav" -r 8000 -c 1 -e mu-law -t raw "$1.ulaw" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse
}

say agent-greeting en-us+f3 "Hi, it is Ava from Acme Dental, about your visit tomorrow at ten."
say agent-offer    en-us+f3 "Would you like a reminder text the day before?"
say agent-moved    en-us+f3 "Sure, you are now booked for eleven."
say agent-bye      en-us+f3 "Goodbye!"
say caller-yes     en-us+m3 "Yes, hello."
say caller-move    en-us+m3 "Sorry, can we move it to eleven?"
say caller-bye     en-us+m3 "Perfect, thanks, goodbye!"
say voicemail      en-us+m3 "Hi, this is Sam. Leave a message."
# The voicemail beep: 400 ms at 1 kHz.
sox -D -n -r 8000 -c 1 -e mu-law -t raw beep.ulaw synth 0.4 sine 1000 vol 0.5
