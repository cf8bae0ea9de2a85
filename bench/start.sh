#!/usr/bin/env bash
# Issue #13, the daemon's start at N images (default 1,000,000), before and
# after a change, in one run: an index written by `revsd-bench scalelib
# --files` (N empty files in folders of 1,000, their size and mtime
# recorded, so the start's reconcile finds every file unchanged), opened by
# the real revsdd of each build, alternating, R rounds (default 3):
#  - missing: the library's folder moved away (records kept, no listing);
#  - present: the folder there, every file unchanged;
#  - gone: the first 10 folders (10,000 files) moved away while stopped,
#    on a fresh copy of the index for each build (their records must go).
# Per start: seconds until `revsdctl status --json` answers, the log's
# listing time (the "watched folders listed" line, builds that list in the
# background), VmRSS / VmHWM at ready. BEFORE is the bin directory of an
# earlier release build (its revsdd; this build's revsdctl asks). Disk: the index twice (about 8 GB at 1M).
# With `record`, rewrites the "start" section of bench/RESULTS.md.
#   bench/start.sh [record] BEFORE-BIN-DIR [N] [R]
set -euo pipefail
cd "$(dirname "$0")/.."
record=""; [ "${1:-}" = record ] && { record=1; shift; }
before="${1:?usage: bench/start.sh [record] BEFORE-BIN-DIR [N] [R]}"; n="${2:-1000000}"; rounds="${3:-3}"
before="$(cd "$before" && pwd)"
for p in revsdd revsdctl revsd-bench; do swift build -c release --product "$p" >/dev/null; done
now="$PWD/.build/release"
"$now/revsdctl" models fetch >/dev/null
work="$(mktemp -d /tmp/revsd-start.XXXXXX)"
trap 'kill "$(cat "$work/pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/state"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
written="$("$now/revsd-bench" scalelib --n "$n" --db "$work/state/index.sqlite" --root "$work/library" --files)"
cp "$work/state/index.sqlite" "$work/index.orig"
: > "$work/revsdd.toml"
results="$work/results.jsonl"

# One start of BIN's revsdd on the work folder: one JSON line.
start() {
  python3 - "$1" "$work" "$2" "$3" "$now/revsdctl" <<'PY' >> "$results"
import json, re, subprocess, sys, time
bin, work, build, case, ctl = sys.argv[1:]
sock = f"{work}/s.sock"
log = f"{work}/log"
load = open("/proc/loadavg").read().split()[:3]
t = time.time()
d = subprocess.Popen([f"{bin}/revsdd", "--watch", f"{work}/library", "--state-dir", f"{work}/state", "--socket", sock,
                      "--config", f"{work}/revsdd.toml"], stdout=open(log, "w"), stderr=subprocess.STDOUT)
open(f"{work}/pid", "w").write(str(d.pid))
while True:
    if d.poll() is not None: sys.exit(f"revsdd exited ({d.returncode}): see {log}")
    r = subprocess.run([ctl, "--socket", sock, "status", "--json"], capture_output=True, text=True)
    if r.returncode == 0: break
    if time.time() - t > 1800: sys.exit("revsdd: not ready after 30 minutes")
    time.sleep(0.05)
ready = time.time() - t
vm = {k: int(v.split()[0]) // 1024 for k, _, v in (l.partition(":") for l in open(f"/proc/{d.pid}/status")) if k in ("VmRSS", "VmHWM")}
listed = None
deadline, grace = time.time() + 600, None
while time.time() < deadline:   # the background listing, where the build has one
    text = open(log).read()
    m = re.search(r"watched folders listed .*seconds=([0-9.]+)", text)
    if m: listed = float(m.group(1)); break
    # A build that lists before ready logs no such line: 2 s after its reconcile (or at once, folder missing), stop waiting.
    if "reconciled folder" in text or case == "missing": grace = grace or time.time() + 2
    if grace and time.time() > grace: break
    time.sleep(0.2)
indexed = json.loads(subprocess.run([ctl, "--socket", sock, "status", "--json"], capture_output=True, text=True).stdout)["indexed"]
d.terminate(); d.wait(timeout=300)
print(json.dumps({"build": build, "case": case, "ready_s": round(ready, 2), "listed_s": listed, "indexed": indexed,
                  "rss_mib": vm.get("VmRSS"), "hwm_mib": vm.get("VmHWM"), "load": " ".join(load)}))
PY
}

for r in $(seq "$rounds"); do
  mv "$work/library" "$work/library.away"
  for b in before now; do bin="$before"; [ $b = now ] && bin="$now"; start "$bin" $b missing; done
  mv "$work/library.away" "$work/library"
  for b in before now; do bin="$before"; [ $b = now ] && bin="$now"; start "$bin" $b present; done
done
for b in before now; do
  bin="$before"; [ $b = now ] && bin="$now"
  rm -f "$work/state/index.sqlite-wal" "$work/state/index.sqlite-shm"; cp "$work/index.orig" "$work/state/index.sqlite"
  for d in 0 1 2 3 4 5 6 7 8 9; do mv "$work/library/$d" "$work/gone-$d"; done
  start "$bin" $b gone
  for d in 0 1 2 3 4 5 6 7 8 9; do mv "$work/gone-$d" "$work/library/$d"; done
done

python3 - "$results" "$n" "$rounds" "$before" "$written" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(python3 bench/results.py --machine)" "$(git rev-parse --short HEAD)" > "$work/report.md" <<'PY'
import json, statistics, sys
results, n, rounds, before, written, lb, la, machine, commit = sys.argv[1:]
rows = [json.loads(l) for l in open(results)]
w = json.loads(written)
print("## Start at a million images: missing, present and changed folders, before and after\n")
print(f"Run {machine}; before: the release build in `{before}`; now: commit {commit}; release builds. "
      f"Load average (1, 5, 15 min) before: {lb}, after: {la}. An index of {int(n):,} images written by "
      f"`revsd-bench scalelib --files` ({w['seconds']} s, {w['db_mib']:,} MiB; {int(n):,} empty files in folders of 1,000, "
      f"{w['labelled']:,} with a known prompt), opened by each build's revsdd in turn, {rounds} rounds; median of the rounds.\n")
print("| folder at start | build | start → ready (median, all) | listed in the background | indexed at ready | RSS / peak at ready |")
print("|---|---|---:|---:|---:|---:|")
titles = {"missing": "missing (moved away)", "present": "present, every file unchanged",
          "gone": "present, 10,000 files gone while stopped (one round)"}
for case in ("missing", "present", "gone"):
    for b in ("before", "now"):
        rs = [r for r in rows if r["case"] == case and r["build"] == b]
        if not rs: continue
        ready = [r["ready_s"] for r in rs]
        listed = [r["listed_s"] for r in rs if r["listed_s"] is not None]
        print(f"| {titles[case]} | {b} | {statistics.median(ready):.2f} s ({', '.join(f'{x:.2f}' for x in ready)}) | "
              f"{(f'{statistics.median(listed):.1f} s after ready') if listed else 'before ready (no background listing logged)'} | {rs[-1]['indexed']:,} | "
              f"{rs[-1]['rss_mib']:,} / {rs[-1]['hwm_mib']:,} MiB |")
print(f"\nReproduce: `bench/start.sh BEFORE-BIN-DIR [{n}] [{rounds}]`.")
PY
cat "$work/report.md"
[ -n "$record" ] && python3 bench/results.py start < "$work/report.md"
exit 0
