#!/usr/bin/env bash
# How fast a Ctrl-C stops a CLI run: the clip-art MobileNetV2 at --patch 16 (324 crops per image, so one
# chunk of images is ~80 forward passes), SIGINT at several moments, time from the signal to the exit.
# Needs ../shared/fixtures (not in the repo) and a build (npm run build). Usage: bash bench/cancel-latency.sh
set -u
cd "$(dirname "$0")/.."
F=../shared/fixtures/clipart-mobilenetv2
if [ ! -f "$F/clipart_mobilenetv2.onnx" ]; then echo "cancel-latency: $F is absent; nothing measured."; exit 0; fi
for delay in 3 5 8 12; do
  out=$(mktemp -d)
  node bin/craft.js explain --model "$F/clipart_mobilenetv2.onnx" --images "$F/images/playing_cards" --class playing_cards \
    --patch 16 --max-images 40 --out "$out" --quiet >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  t0=$(date +%s%N); kill -INT "$pid"; wait "$pid"; rc=$?; t1=$(date +%s%N)
  echo "SIGINT after ${delay} s: exit ${rc} after $(( (t1 - t0) / 1000000 )) ms; entries left in the results root: $(ls -A "$out" | wc -l)"
  rm -rf "$out"
done
