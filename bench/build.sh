#!/usr/bin/env bash
# Compiles the repository with tsc into a directory beside it (default ../silt-build), laid out
# so the benchmarks run there with plain node: `bash bench/build.sh && cd ../silt-build &&
# node bench/ingest.js 1400000 16`. The figures in RESULTS.md marked "compiled build" come from
# such a build: it measures the server without tsx compiling TypeScript at startup.
# The build sits beside the repository because the benchmarks find ../shared/bench/genlogs.mjs
# from their own directory.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$src/../silt-build}")
case "$out" in "$src" | "$src"/*) echo "bench/build.sh: build outside the repository, not in $out" >&2; exit 2 ;; esac
rm -rf "$out"
(cd "$src" && node_modules/.bin/tsc -p tsconfig.json --outDir "$out")
# package.json makes the .js files ES modules, as the sources are.
cp "$src/package.json" "$out/package.json"
cp "$src/src/util/worker-boot.mjs" "$out/src/util/"
# Test support reads the node flags from cmd/silt.ts (here the compiled file) and starts cmd/silt.js
# with plain node, as `npm start` runs dist/.
ln -sf silt.js "$out/cmd/silt.ts"
ln -sfn "$src/node_modules" "$out/node_modules"
ln -sfn "$src/proto" "$out/proto"
echo "built $out"
