#!/usr/bin/env bash
# Restore, build Release, run every test project on each framework it targets, and print the totals as the last line:
#   tests: N passed, N failed[, N skipped]
# The unit test projects (*.Tests) target net10.0 and net8.0: the net8.0 run tests the libraries' net8.0 builds on the
# .NET 8 runtime, which those test builds carry with them (self-contained; tests/Directory.Build.props), so only the
# .NET 10 SDK needs to be installed.
# Then the Serilog 4 line: the unit tests once more on net10.0 with Serilog 4 and its companion packages lifting the
# versions the libraries are built against (as an application on Serilog 4 does), and the compatibility tests, which
# compare our output with the Serilog packages this pack stands in for. When the package feed does not serve those
# versions, that part is reported and counted as one skipped test instead. Short passes on Serilog 4.3.0 and 4.0.0
# follow, one of the compatibility tests against Serilog.AspNetCore 8.0.3, and one of the ASP.NET Core and Timing tests
# on net8.0 with System.Diagnostics.DiagnosticSource 10 (as OpenTelemetry 1.20 brings).
# Exits non-zero when anything failed, a test run crashed, or a run (a project on one framework) found no test.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

echo "== build (Release)"
if ! dotnet build Serilog.Extensions.Observability.sln -c Release -nologo > "$results/build.log" 2>&1; then
  grep -E '(error|warning) [A-Z]+[0-9]+' "$results/build.log" | sort -u | head -n 40
  tail -n 5 "$results/build.log"
  echo "build failed (full log: artifacts/test-results/build.log)"
  echo "tests: 0 passed, 1 failed"
  exit 1
fi

passed=0; failed=0; skipped=0; crashed=0

# run_tests PROJECT NAME FRAMEWORK [VAR=VALUE...]: runs one test project's FRAMEWORK build (with the environment given)
# and adds up its counts.
run_tests() {
  local project=$1 name=$2 framework=$3; shift 3
  echo "== $name"
  env "$@" dotnet test "$project" -c Release --no-build -f "$framework" \
    --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
    --blame-hang-timeout 10m -- NUnit.DefaultTimeout=600000 \
    > "$results/$name.log" 2>&1
  local code=$?
  # Each failed test with its message (up to six lines of it, not the stack trace), so a failure that does not come
  # back when run again can still be read from this output.
  awk '/^  Error Message:/ { message = 6; print; next }
       /^  Stack Trace:/ || /^  Standard Output Messages:/ { message = 0 }
       message > 0 { message--; print; next }
       /^(Passed!|Failed!|  Failed |Skipped |Total tests|Test Run Aborted|The active test run was aborted)/ { print }' \
    "$results/$name.log" | head -n 60
  local trx="$results/$name.trx"
  if [ ! -f "$trx" ]; then
    echo "   no results for $name (exit $code); see artifacts/test-results/$name.log"
    tail -n 30 "$results/$name.log"
    crashed=$((crashed + 1)); return
  fi
  local counters
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  local p f e t a total executed
  p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); a=$(get aborted); total=$(get total); executed=$(get executed)
  passed=$((passed + p)); failed=$((failed + f + e + t + a)); skipped=$((skipped + total - executed))
  # Each run has tests: one that found none (a framework's build without them, a filter, an adapter that did not load)
  # would otherwise pass unseen beside the others.
  if [ "$total" -eq 0 ]; then
    echo "   $name ran no test; see artifacts/test-results/$name.log"
    crashed=$((crashed + 1)); return
  fi
  if [ "$code" -ne 0 ] && [ $((f + e + t + a)) -eq 0 ]; then
    echo "   $name exited $code without a failed test (host crash?); see artifacts/test-results/$name.log"
    tail -n 30 "$results/$name.log"
    crashed=$((crashed + 1))
  fi
}

# frameworks PROJECT: the target frameworks PROJECT builds for, one a line, net10.0 before net8.0.
frameworks() {
  dotnet msbuild "$1" -nologo -p:Configuration=Release -getProperty:TargetFrameworks -getProperty:TargetFramework \
    | grep -oE '"TargetFrameworks?": *"[^"]*"' | sed -E 's/.*"([^"]*)"$/\1/' | tr ';' '\n' | grep -v '^$' | sort -u
}

compatibility=tests/Serilog.Extensions.Observability.CompatibilityTests/Serilog.Extensions.Observability.CompatibilityTests.csproj
projects=$(ls tests/*/*.csproj | grep -v PerformanceTests | grep -v -F "$compatibility" | sort)
for project in $projects; do
  name=$(basename "$project" .csproj)
  fws=$(frameworks "$project")
  if [ -z "$fws" ]; then
    echo "== $name"
    echo "   could not read the target frameworks of $project"
    crashed=$((crashed + 1)); continue
  fi
  for fw in $fws; do
    # The net10.0 run keeps the project's name; another framework's run is named after it too.
    if [ "$fw" = net10.0 ]; then run_tests "$project" "$name" "$fw"; else run_tests "$project" "$name.$fw" "$fw"; fi
  done
done

# The formatters have vectorised paths and scalar fallbacks: run their tests once more with the hardware
# intrinsics off, so the fallbacks are checked byte for byte too (on net10.0: the library has no code that differs
# between its two builds).
run_tests tests/Serilog.Extensions.Observability.Formatting.Tests/Serilog.Extensions.Observability.Formatting.Tests.csproj \
  Serilog.Extensions.Observability.Formatting.Tests.Scalar net10.0 DOTNET_EnableHWIntrinsic=0

# run_line TITLE SUFFIX MISSING "PROJECTS" FRAMEWORK VAR=VALUE...: builds PROJECTS for FRAMEWORK with the environment
# given, then runs each as its name plus SUFFIX. When the build fails because the package feed does not serve a
# package, that part is reported (MISSING says what the feed lacks) and counted as one skipped test; any other build
# failure as a crash.
run_line() {
  local title=$1 suffix=$2 missing=$3 line_projects=$4 framework=$5; shift 5
  local log="$results/build.${suffix,,}.log" project built=1
  echo "== build (Release, $title)"
  : > "$log"
  for project in $line_projects; do
    if ! env "$@" dotnet build "$project" -c Release -f "$framework" -nologo >> "$log" 2>&1; then built=0; break; fi
  done
  if [ "$built" -eq 1 ]; then
    for project in $line_projects; do
      run_tests "$project" "$(basename "$project" .csproj).$suffix" "$framework" "$@"
    done
  elif grep -qE 'error NU1(101|102|103|603)' "$log"; then
    grep -E 'error NU1(101|102|103|603)' "$log" | sort -u | head -n 5
    echo "   skipped: the package feed does not serve $missing (log: artifacts/test-results/$(basename "$log"))"
    skipped=$((skipped + 1))
  else
    grep -E '(error|warning) [A-Z]+[0-9]+' "$log" | sort -u | head -n 40
    echo "   the $title build failed (log: artifacts/test-results/$(basename "$log"))"
    crashed=$((crashed + 1))
  fi
}

# The Serilog 4 line (tests/Directory.Build.props and .targets, Directory.Packages.props): SerilogLine=4 in the
# environment is an MSBuild property for every project, and changes only the test projects.
run_line "Serilog 4" Serilog4 "the Serilog 4 line these tests need" "$(ls tests/*/*.Tests.csproj | sort) $compatibility" \
  net10.0 SerilogLine=4

# Serilog 4.3.0 as well, for the tests of what the running Serilog 4 minor decides (override names' case, the disposal
# of the sinks Redacted wraps) and the compatibility tests: -p:Serilog4Version (Directory.Packages.props) with its own
# bin and obj. Skipped likewise when the package feed does not serve it.
run_line "Serilog 4.3" Serilog43 "Serilog 4.3.0 and the packages these tests need" \
  "tests/Serilog.Extensions.Observability.Redaction.Tests/Serilog.Extensions.Observability.Redaction.Tests.csproj $compatibility" \
  net10.0 SerilogLine=4 Serilog4Version=4.3.0

# Serilog 4.0.0, the lowest Serilog 4, for the tests of what it decides differently from 4.1 and later (it leaves the
# disposal of the sinks inside WriteTo.Redacted to Redacted) and of its companion packages:
# Serilog.Settings.Configuration 10 and 9, Serilog.Extensions.Logging 9 and 10 and Serilog.Sinks.File 7 ask for
# Serilog 4.2.0 or 4.3.0, so this pass takes the newest that admit 4.0.0 (Directory.Packages.props), as an application
# on it gets them: the Timing tests check how Serilog.Settings.Configuration 8.0.4 builds an options object. Every
# unit test project passes on 4.0.0, but running them all here took about 4 minutes; these two, about 1.5. Skipped
# likewise when the feed does not serve it.
run_line "Serilog 4.0" Serilog40 "Serilog 4.0.0 and the packages these tests need" \
  "tests/Serilog.Extensions.Observability.Redaction.Tests/Serilog.Extensions.Observability.Redaction.Tests.csproj
   tests/Serilog.Extensions.Observability.Timing.Tests/Serilog.Extensions.Observability.Timing.Tests.csproj" \
  net10.0 SerilogLine=4 Serilog4Version=4.0.0

# The compatibility tests once more against Serilog.AspNetCore 8.0.3 (with Serilog.Extensions.Hosting 8.0.0), the
# contract the ASP.NET Core package keeps: -p:SerilogAspNetCoreVersion (Directory.Packages.props) with its own bin and
# obj. Skipped likewise when the package feed does not serve it.
run_line "Serilog.AspNetCore 8" SerilogAspNetCore8 "Serilog.AspNetCore 8.0.3 and Serilog.Extensions.Hosting 8.0.0" \
  "$compatibility" net10.0 SerilogLine=4 SerilogAspNetCoreVersion=8.0.3

# A .NET 8 application that adds OpenTelemetry 1.20 runs on System.Diagnostics.DiagnosticSource 10 instead of the
# runtime's own: the ASP.NET Core and Timing tests once more on net8.0 as such an application (DiagnosticSource10, see
# those projects; their usual net8.0 run is a .NET 8 application without it).
run_line "net8.0 with DiagnosticSource 10" DiagnosticSource10 "DiagnosticSource 10 and OpenTelemetry 1.20" \
  "tests/Serilog.Extensions.Observability.AspNetCore.Tests/Serilog.Extensions.Observability.AspNetCore.Tests.csproj
   tests/Serilog.Extensions.Observability.Timing.Tests/Serilog.Extensions.Observability.Timing.Tests.csproj" \
  net8.0 DiagnosticSource10=true

failed=$((failed + crashed))
line="tests: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
if [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
exit 0
