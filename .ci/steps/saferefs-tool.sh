#!/usr/bin/env bash
# Packs dotnet-saferefs as a .NET tool into a local folder feed, installs it from there into a temporary tool path (as a
# user would, with `dotnet tool install`), and runs the installed command against the repository's leaking test target:
# `leaks --fail-on-growth` must exit 3 (something grew) and print the static field that roots the leaked views.
set -euo pipefail
cd "$(dirname "$0")/../.."

version="0.1.0-ci.$(date +%s)"
out="$PWD/.ci/out"
feed="$out/tool-feed"
tools="$(mktemp -d)"
child=""
cleanup() {
  exec 3>&- 2>/dev/null || true   # the target exits when its standard input closes
  if [ -n "$child" ]; then kill "$child" 2>/dev/null || true; fi
  rm -rf "$tools"
}
trap cleanup EXIT
rm -rf "$feed"
mkdir -p "$feed"

# The solution packs the libraries only; the tool is packed on purpose here.
# From the Release build that .ci/run made (built here only when missing): packing does not rebuild every library.
[ -f artifacts/bin/dotnet-saferefs/release/dotnet-saferefs.dll ] || dotnet build src/dotnet-saferefs -c Release --nologo -v q
dotnet pack src/dotnet-saferefs/dotnet-saferefs.csproj -c Release --no-build -o "$feed" -p:IsPackable=true -p:PackageVersion="$version" --nologo -v q
dotnet tool install dotnet-saferefs --tool-path "$tools" --add-source "$feed" --version "$version"
"$tools/dotnet-saferefs" --help > "$out/tool-help.txt"
grep -q "Example session:" "$out/tool-help.txt" || { echo "the installed dotnet-saferefs printed no help" >&2; exit 1; }

target=artifacts/bin/SafeRefs.Testing.Heap.LeakyTarget/release/SafeRefs.Testing.Heap.LeakyTarget.dll
[ -f "$target" ] || dotnet build tests/SafeRefs.Testing.Heap.LeakyTarget -c Release --nologo -v q
# Mode "paths": 40 more instances of four kinds of leak after every full collection (so after every snapshot). It exits
# after 120 s at the latest, or as soon as its standard input (a pipe this script holds open) closes.
log="$out/tool-target.log"
mkfifo "$tools/stdin"
dotnet "$target" 40 120 paths < "$tools/stdin" > "$log" &
child=$!
exec 3> "$tools/stdin"
for _ in $(seq 1 300); do
  grep -q '^ready$' "$log" 2>/dev/null && break
  sleep 0.1
done
grep -q '^ready$' "$log" || { echo "the leaking target did not start" >&2; exit 1; }

report="$out/tool-leaks.txt"
code=0
"$tools/dotnet-saferefs" leaks -p "$child" --interval 250ms --paths 1 --fail-on-growth > "$report" || code=$?
cat "$report"
if [ "$code" -ne 3 ]; then
  echo "the installed dotnet-saferefs leaks exited with $code, expected 3 (something grew)" >&2
  exit 1
fi
grep -q "← static field SafeRefs.Testing.Heap.LeakyTarget.PriceFeed.Changed" "$report" || {
  echo "the installed dotnet-saferefs did not print the static event's root" >&2
  exit 1
}
echo "installed dotnet-saferefs found the leak and its root"
