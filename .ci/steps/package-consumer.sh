#!/usr/bin/env bash
# Packs every shipped package into a local folder feed, then builds and runs samples/SafeRefs.PackageConsumer against
# the packages (not project references): the app must run, the packaged analyzers must report SR1005, and a trimmed
# publish must produce no trim/AOT warnings from SafeRefs. (saferefs-tool.sh installs the packed tool and hunts a leak
# with it.)
set -euo pipefail
cd "$(dirname "$0")/../.."

version="0.1.0-ci.$(date +%s)"
feed="$PWD/.ci/out/feed"
consumer=samples/SafeRefs.PackageConsumer
rm -rf "$feed" .ci/out/consumer
mkdir -p "$feed"

for project in src/SafeRefs src/SafeRefs.Testing src/SafeRefs.Testing.Heap src/SafeRefs.Caching.Redis src/dotnet-saferefs; do
  dotnet pack "$project" -c Release -o "$feed" -p:Version="$version" -p:IsPackable=true --nologo -v q
done
for package in SafeRefs SafeRefs.Testing SafeRefs.Testing.Heap SafeRefs.Caching.Redis dotnet-saferefs; do
  [ -e "$feed/$package.$version.nupkg" ] || { echo "missing package $package.$version.nupkg in the feed" >&2; exit 1; }
done
# The local feed is added to the sources the machine is configured with (no feed URL in the repository).
sources=(-p:RestoreAdditionalProjectSources="$feed")
props=(-p:SafeRefsVersion="$version")
dotnet restore "$consumer" "${sources[@]}" "${props[@]}" --nologo -v q
build_log=.ci/out/consumer-build.log
dotnet build "$consumer" -c Release --no-restore "${props[@]}" --nologo -v n > "$build_log" 2>&1 || { cat "$build_log"; exit 1; }
if ! grep -q "warning SR1005" "$build_log"; then
  echo "The packaged analyzers did not report SR1005 in LeakyOnPurpose.cs: analyzers not loaded from the package." >&2
  exit 1
fi
echo "analyzers loaded from the package: SR1005 reported"
dotnet run --project "$consumer" -c Release --no-build "${props[@]}" -- --heap


# Trim check: a trimmed self-contained publish must not warn about SafeRefs.
publish_log=.ci/out/consumer-publish.log
if dotnet publish "$consumer" -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -p:TrimmerSingleWarn=false \
     "${sources[@]}" "${props[@]}" --nologo > "$publish_log" 2>&1; then
  # Judge each warning by its text, not by the consumer project's path MSBuild appends to it. Warnings from other
  # packages (TraceEvent, under SafeRefs.Testing.Heap) are shown but are not SafeRefs'.
  warnings=$(grep -E "warning IL[0-9]+" "$publish_log" | sed -E 's/ \[[^]]*\]$//' || true)
  [ -z "$warnings" ] || echo "$warnings"
  if echo "$warnings" | grep -q "SafeRefs"; then
    echo "$warnings" | grep "SafeRefs" >&2
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
