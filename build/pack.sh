#!/usr/bin/env bash
# Packs every src project (nupkg + snupkg) into artifacts/packages.
# Usage: build/pack.sh [output-folder] [extra dotnet pack arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/packages}
shift || true
mkdir -p "$out"
for project in src/*/*.csproj; do
  dotnet pack "$project" -c Release -o "$out" --nologo "$@"
done
ls -1 "$out"
