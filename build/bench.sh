#!/usr/bin/env bash
# Runs the BenchmarkDotNet performance project; arguments pass through, e.g.
#   build/bench.sh --filter '*Formatter*' --job short
set -euo pipefail
cd "$(dirname "$0")/.."
exec dotnet run -c Release --project tests/Serilog.Extensions.Observability.PerformanceTests -- "$@"
