#!/usr/bin/env python3
# CPU over the merge phase of one `sluice run` (issue 20: >= 190% at --parallelism 2 on 2 cores).
#
# Usage: bench/merge_phase_cpu.py PIPELINE_DIR -- SLUICE run PIPELINE_DIR --date D [args]
# Runs the command under `perf stat -I 50 -e task-clock` (the CPU of the command's own process
# tree, every 50 ms) while sampling /proc/stat (all CPUs) every 50 ms, then reports both over the
# merge phase: the first merge attempt's start to the last one's end, from the ledger
# (PIPELINE_DIR/state/ledger.db). "all CPUs" counts other processes too (on a shared machine
# their work looks like ours); "sluice's own" does not. Start each run from a clean state (see
# reset_pipeline in bench/run_pipeline) and alternate binaries.
import os, sqlite3, subprocess, sys, tempfile, time

def busy():
    v = list(map(int, open('/proc/stat').readline().split()[1:]))
    return sum(v) - v[3] - v[4]  # all but idle and iowait

pipeline, cmd = sys.argv[1], sys.argv[sys.argv.index('--') + 1:]
hz = os.sysconf('SC_CLK_TCK')
out = tempfile.NamedTemporaryFile(suffix='.csv', delete=False).name
samples = []
t0 = time.time() * 1000
p = subprocess.Popen(['perf', 'stat', '-I', '50', '-x', ',', '-e', 'task-clock', '-o', out, '--'] + cmd,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while p.poll() is None:
    samples.append((time.time() * 1000, busy()))
    time.sleep(0.05)
samples.append((time.time() * 1000, busy()))
db = sqlite3.connect(os.path.join(pipeline, 'state', 'ledger.db'))
s, e = db.execute("SELECT min(started_ms), max(ended_ms) FROM attempts "
                  "WHERE task_key LIKE 'merge%'").fetchone()
a = min(samples, key=lambda x: abs(x[0] - s))
b = min(samples, key=lambda x: abs(x[0] - e))
all_cpu = 100 * (b[1] - a[1]) / hz / ((b[0] - a[0]) / 1000)
# perf's lines: "seconds since start,msec of task-clock,..." per 50 ms interval.
iv = []
for line in open(out):
    f = line.split(',')
    try:
        iv.append((float(f[0]) * 1000 + t0, float(f[1])))
    except (ValueError, IndexError):
        pass
os.unlink(out)
inside = [(t, v) for t, v in iv if s + 50 <= t <= e]
span = inside[-1][0] - inside[0][0] + 50
print("merge phase %.2f s: all CPUs %.0f%%, sluice's own %.0f%%; load average %s" % (
    (e - s) / 1000, all_cpu, 100 * sum(v for _, v in inside) / span,
    open('/proc/loadavg').read().split()[0]))
sys.exit(p.returncode)
