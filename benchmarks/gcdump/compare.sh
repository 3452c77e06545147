#!/usr/bin/env bash
# Side by side with dotnet-gcdump on one process: dotnet-saferefs snapshot and dotnet-gcdump collect take turns on the
# repository's test target in mode "steady" (a heap that does not change), and the script prints both tools' wall
# times (median of the rounds) and the top 50 types' counts from each, with the largest disagreement. Exits 1 when a
# top-50 count disagrees by more than 2 %. Bounded: the target exits after 5 minutes; each capture has a 60 s timeout.
#   benchmarks/gcdump/compare.sh [items=300000] [rounds=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
items="${1:-300000}"
rounds="${2:-5}"
work="$(mktemp -d)"
child=""
cleanup() {
  if [ -n "$child" ]; then kill "$child" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# dotnet-gcdump from NuGet, in a temporary tool path (nothing installed globally).
dotnet tool install dotnet-gcdump --tool-path "$work/tools" --version 10.0.750501 > /dev/null
gcdump="$work/tools/dotnet-gcdump"

saferefs=artifacts/bin/dotnet-saferefs/release/dotnet-saferefs.dll
target=artifacts/bin/SafeRefs.Testing.Heap.LeakyTarget/release/SafeRefs.Testing.Heap.LeakyTarget.dll
[ -f "$saferefs" ] || dotnet build src/dotnet-saferefs -c Release --nologo -v q
[ -f "$target" ] || dotnet build tests/SafeRefs.Testing.Heap.LeakyTarget -c Release --nologo -v q

sleep 300 | dotnet "$target" "$items" 300 steady > "$work/target.log" &
child=$!
for _ in $(seq 1 600); do
  grep -q '^ready$' "$work/target.log" 2>/dev/null && break
  sleep 0.1
done
grep -q '^ready$' "$work/target.log" || { echo "the target did not start" >&2; exit 1; }

now() { date +%s%N; }
: > "$work/times"
for i in $(seq 1 "$rounds"); do
  t0=$(now)
  dotnet "$saferefs" snapshot -p "$child" --out "$work/s$i.json" --timeout 60s > /dev/null
  t1=$(now)
  "$gcdump" collect -p "$child" -o "$work/g$i.gcdump" > /dev/null
  t2=$(now)
  echo "$(( (t1 - t0) / 1000000 )) $(( (t2 - t1) / 1000000 ))" >> "$work/times"
done
"$gcdump" report "$work/g$rounds.gcdump" > "$work/gcdump-report.txt"

python3 - "$work" "$rounds" <<'PY'
import json, re, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
times = [tuple(map(int, l.split())) for l in open(f"{work}/times")]
ours = statistics.median(t[0] for t in times)
theirs = statistics.median(t[1] for t in times)
print(f"wall time per snapshot, median of {rounds}: dotnet-saferefs snapshot {ours:.0f} ms, dotnet-gcdump collect {theirs:.0f} ms, ratio {ours / theirs:.2f}")
print("all rounds (ms, saferefs gcdump):", ", ".join(f"{a} {b}" for a, b in times))

def norm(name):
    # gcdump writes generic arguments in angle brackets and may suffix big arrays with a size class.
    name = re.sub(r"\s*\(Bytes\s*>\s*[\d,.]+[KM]?\)", "", name).strip()
    name = re.sub(r"`\d+", "", name)
    return name.replace("[", "<").replace("]", ">").replace("<>", "[]").replace(" ", "")

def simple(name):
    # gcdump names a nested type by its own name only; SafeRefs keeps the declaring type (Outer+Inner).
    depth, cut = 0, -1
    for i, c in enumerate(name):
        depth += c == "<"
        depth -= c == ">"
        if c == "+" and depth == 0:
            cut = i
    return name[cut + 1:]

snap = json.load(open(f"{work}/s{rounds}.json"))
mine, nested = {}, {}
for t in snap["types"]:
    mine[norm(t["name"])] = mine.get(norm(t["name"]), 0) + t["count"]
    if "+" in t["name"]:
        key = simple(norm(t["name"]))
        nested[key] = nested.get(key, 0) + t["count"]
gc = {}
row = re.compile(r"^\s*([\d,]+)\s+([\d,]+)\s+(.+?)(\s+\[[^\]]*\])?\s*$")
for line in open(f"{work}/gcdump-report.txt"):
    m = row.match(line)
    if m:
        gc[norm(m.group(3))] = gc.get(norm(m.group(3)), 0) + int(m.group(2).replace(",", ""))
top = sorted(gc.items(), key=lambda kv: -kv[1])[:50]
worst = 0.0
missing = []
print("| type | dotnet-gcdump | dotnet-saferefs | difference |")
print("|---|---:|---:|---:|")
for name, count in top:
    ours = mine.get(name, nested.get(name))
    if ours is None:
        missing.append(name)
        continue
    diff = (ours - count) / count
    worst = max(worst, abs(diff))
    print(f"| {name} | {count:,} | {ours:,} | {diff:+.2%} |")
print(f"objects: dotnet-gcdump {sum(gc.values()):,}, dotnet-saferefs {snap['objectCount']:,}; largest top-50 difference {worst:.2%}; top-50 types not matched by name: {len(missing)} {missing[:5]}")
sys.exit(1 if worst > 0.02 else 0)
PY
