#!/usr/bin/env bash
# A real Slurm cluster on 127.0.0.1 for the tests, in a folder of its own (no systemd, no
# /etc/slurm): munged as user munge on its own socket and key, slurmctld, and one slurmd per
# node name (n1, n2, ...) on its own port. Started in well under a second.
#
#   cluster.sh start DIR [NODES]   writes DIR/slurm.conf, starts the daemons, waits until every
#                                  node is idle; prints SLURM_CONF=DIR/slurm.conf
#   cluster.sh stop DIR            stops them by the pids they wrote, waits until they are gone
#
# slurm.conf: proctrack/linuxproc and task/none (no cgroups), MinJobAge large so finished jobs
# stay in squeue, jobcomp/filetxt so `sacct -c` answers without slurmdbd, JobRequeue=0.
# Needs (scripts/install-deps.sh): slurmctld slurmd slurm-client munge. Run as root (the
# daemons' SlurmUser), as the tests run.
set -euo pipefail
cmd=${1:?usage: cluster.sh start|stop DIR [NODES]}
dir=${2:?usage: cluster.sh start|stop DIR [NODES]}
nodes=${3:-1}

# What the daemons left: slurmstepd and job processes of this cluster (SLURM_CONF=DIR/slurm.conf
# in their environment; a job's also has SLURM_JOB_ID). A killed slurmd leaves them behind.
leftover_pids() {
  local e pid env
  for e in /proc/[0-9]*/environ; do
    pid=${e#/proc/}
    pid=${pid%/environ}
    env=$( { tr '\0' '\n' <"$e"; } 2>/dev/null) || continue
    grep -qxF "SLURM_CONF=$dir/slurm.conf" <<<"$env" || continue
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = slurmstepd ] || grep -q '^SLURM_JOB_ID=' <<<"$env"; then
      echo "$pid"
    fi
  done
}

stop() {
  # Jobs first, while the controller can still end them (bounded: 5 s).
  if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ]; then
    local jobs
    jobs=$(SLURM_CONF=$dir/slurm.conf squeue -h -t pending,running,suspended -o %A 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      SLURM_CONF=$dir/slurm.conf scancel --signal=KILL --full $jobs 2>/dev/null || true
      # shellcheck disable=SC2086
      SLURM_CONF=$dir/slurm.conf scancel $jobs 2>/dev/null || true
      for _ in $(seq 100); do
        [ -z "$(SLURM_CONF=$dir/slurm.conf squeue -h -t running,completing -o %A 2>/dev/null)" ] && break
        sleep 0.05
      done
    fi
  fi
  local pids=()
  for f in "$dir"/slurmd.*.pid "$dir"/slurmctld.pid "$dir"/munge/pid; do
    [ -f "$f" ] && pids+=("$(cat "$f")")
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  local gone=0
  for _ in $(seq 100); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && { gone=1; break; }
    sleep 0.05
  done
  [ "$gone" = 1 ] || for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # Whatever the daemons left (a job step whose slurmd is gone).
  for p in $(leftover_pids); do kill -9 "$p" 2>/dev/null || true; done
  # munged's folder lives outside DIR (see start); the link says where.
  if [ -L "$dir/munge" ]; then
    local target
    target=$(readlink "$dir/munge")
    case "$target" in /tmp/sluice-munge.*) rm -rf "$target" ;; esac
    rm -f "$dir/munge"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "cluster.sh: unknown command $cmd" >&2; exit 2; }
for b in munged slurmctld slurmd sinfo; do
  command -v "$b" >/dev/null || PATH=$PATH:/usr/sbin
  command -v "$b" >/dev/null || { echo "cluster.sh: $b is missing; run scripts/install-deps.sh" >&2; exit 2; }
done
dir=$(realpath -m "$dir")
mkdir -p "$dir/state" "$dir/log"
# munged refuses a key or socket folder others can write, and runs as user munge, who cannot
# enter a test's private (0700) temp folder: its own folder under /tmp, owned by munge, linked
# from DIR/munge (stop removes it).
munge_dir=$(mktemp -d /tmp/sluice-munge.XXXXXX)
ln -sfn "$munge_dir" "$dir/munge"
dd if=/dev/urandom of="$munge_dir/key" bs=1024 count=1 status=none
chown -R munge:munge "$munge_dir"
chmod 700 "$munge_dir"
chmod 600 "$munge_dir/key"
su -s /bin/sh munge -c "munged --socket='$munge_dir/sock' --key-file='$munge_dir/key' \
  --pid-file='$munge_dir/pid' --log-file='$munge_dir/log' --seed-file='$munge_dir/seed' --force"

ctl_port=$(free_port)
{
  echo "ClusterName=sluicetest"
  echo "SlurmctldHost=localhost(127.0.0.1)"
  echo "SlurmctldPort=$ctl_port"
  echo "SlurmUser=root"
  echo "SlurmdUser=root"
  echo "AuthType=auth/munge"
  echo "AuthInfo=socket=$munge_dir/sock"
  echo "CredType=cred/munge"
  echo "StateSaveLocation=$dir/state"
  echo "SlurmdSpoolDir=$dir/spool/%n"
  echo "SlurmctldPidFile=$dir/slurmctld.pid"
  echo "SlurmdPidFile=$dir/slurmd.%n.pid"
  echo "SlurmctldLogFile=$dir/log/slurmctld.log"
  echo "SlurmdLogFile=$dir/log/slurmd.%n.log"
  echo "ProctrackType=proctrack/linuxproc"
  echo "TaskPlugin=task/none"
  echo "SchedulerType=sched/builtin"
  # Batch jobs are scheduled when submitted, not up to 3 s later (the default batch_sched_delay).
  echo "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0"
  echo "SelectType=select/cons_tres"
  echo "SelectTypeParameters=CR_Core"
  echo "MinJobAge=3600"
  echo "JobCompType=jobcomp/filetxt"
  echo "JobCompLoc=$dir/log/jobcomp.txt"
  echo "JobAcctGatherType=jobacct_gather/none"
  echo "JobRequeue=0"
  echo "ReturnToService=0"
  echo "MpiDefault=none"
  echo "KillWait=2"
  echo "SlurmdTimeout=5"
  names=()
  for i in $(seq "$nodes"); do
    names+=("n$i")
    echo "NodeName=n$i NodeHostname=localhost NodeAddr=127.0.0.1 Port=$(free_port) CPUs=2 RealMemory=1000 State=UNKNOWN"
  done
  echo "PartitionName=etl Nodes=$(IFS=,; echo "${names[*]}") Default=YES MaxTime=INFINITE State=UP"
} >"$dir/slurm.conf"
export SLURM_CONF=$dir/slurm.conf
slurmctld -i
for i in $(seq "$nodes"); do
  mkdir -p "$dir/spool/n$i"
  slurmd -N "n$i"
done
# Ready when every node is idle (sinfo asks the controller).
for _ in $(seq 200); do
  idle=$(sinfo -h -N -t idle -o '%N' 2>/dev/null | sort -u | wc -l)
  [ "$idle" -ge "$nodes" ] && { echo "SLURM_CONF=$SLURM_CONF"; exit 0; }
  sleep 0.05
done
echo "cluster.sh: the nodes did not become idle; see $dir/log/" >&2
sinfo >&2 || true
exit 1
