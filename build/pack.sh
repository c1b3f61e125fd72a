#!/usr/bin/env bash
# Packs every package (nupkg + snupkg) into artifacts/packages, or into the folder given first.
# Usage: build/pack.sh [output-folder] [extra dotnet pack arguments, e.g. -p:PackageVersion=1.2.3]
# -p:PackageVersion versions the assemblies as well when pack builds them; with --no-build the packages hold what the
# last build made, with that build's assembly versions.
# CONFIGURATION (default Release) picks the build configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/packages}
[ $# -gt 0 ] && shift
mkdir -p "$out"
# The solution packs exactly the projects that are packable: src/ (tests and samples set IsPackable=false).
dotnet pack Serilog.Extensions.Observability.sln -c "${CONFIGURATION:-Release}" -o "$out" --nologo "$@"
ls -1 "$out"
