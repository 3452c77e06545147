#!/usr/bin/env bash
# Packs SafeRefs into a local folder feed, then builds and runs samples/SafeRefs.PackageConsumer against the package
# (not a project reference): the app must run, the packaged analyzers must report SR1005, and a trimmed publish must
# produce no trim/AOT warnings from SafeRefs.
set -euo pipefail
cd "$(dirname "$0")/../.."

version="0.1.0-ci.$(date +%s)"
feed="$PWD/.ci/out/feed"
consumer=samples/SafeRefs.PackageConsumer
rm -rf "$feed" .ci/out/consumer
mkdir -p "$feed"

dotnet pack src/SafeRefs/SafeRefs.csproj -c Release -o "$feed" -p:Version="$version" --nologo -v q
# The local feed serves SafeRefs; everything else comes from nuget.org as on any machine.
sources=(--source "$feed" --source https://api.nuget.org/v3/index.json)
props=(-p:SafeRefsVersion="$version")
dotnet restore "$consumer" "${sources[@]}" "${props[@]}" --nologo -v q
build_log=.ci/out/consumer-build.log
dotnet build "$consumer" -c Release --no-restore "${props[@]}" --nologo -v n > "$build_log" 2>&1 || { cat "$build_log"; exit 1; }
if ! grep -q "warning SR1005" "$build_log"; then
  echo "The packaged analyzers did not report SR1005 in LeakyOnPurpose.cs: analyzers not loaded from the package." >&2
  exit 1
fi
echo "analyzers loaded from the package: SR1005 reported"
dotnet run --project "$consumer" -c Release --no-build "${props[@]}"

# Trim check: a trimmed self-contained publish must not warn about SafeRefs.
publish_log=.ci/out/consumer-publish.log
if dotnet publish "$consumer" -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -p:TrimmerSingleWarn=false \
     "${sources[@]}" "${props[@]}" --nologo > "$publish_log" 2>&1; then
  if grep -E "warning IL[0-9]+" "$publish_log" | grep -q "SafeRefs"; then
    grep -E "warning IL[0-9]+" "$publish_log" | grep "SafeRefs" >&2
    echo "Trimmed publish reported trim warnings from SafeRefs." >&2
    exit 1
  fi
  echo "trimmed publish: no trim warnings from SafeRefs"
  # The trimmed app must still work (nothing it needs was trimmed away).
  .ci/out/consumer/publish/SafeRefs.PackageConsumer/release_linux-x64/SafeRefs.PackageConsumer
else
  cat "$publish_log" >&2
  echo "Trimmed publish failed." >&2
  exit 1
fi
