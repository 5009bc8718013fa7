#!/usr/bin/env bash
# A one-node Slurm "cluster" on this machine, for testing the workflow's SLURM profile for real.
#
#   tests/slurm/cluster.sh up       install (Debian packages), configure, start; wait until the node is idle
#   tests/slurm/cluster.sh down     stop every daemon this script started (by PID)
#   tests/slurm/cluster.sh status   sinfo, or "down"
#
# Idempotent: `up` on a running cluster only checks it; `down` on a stopped one does nothing.
# It writes /etc/slurm/slurm.conf only where none exists or where it wrote the file itself
# (marker line), so it never touches a real cluster's configuration. Needs root.
# The node offers one stand-in GPU (gres backed by /dev/null) so `resources: gpu=1` is really
# scheduled as --gpus=1; TensorFlow still runs on the CPU.
set -euo pipefail

STATE=${NST_SLURM_STATE:-/tmp/nst-slurm}
MARKER="# written by nst tests/slurm/cluster.sh"
HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))

log() { printf 'cluster.sh: %s\n' "$*" >&2; }

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        && command -v sbatch >/dev/null; then
        return
    fi
    log "installing slurmctld slurmd slurm-client munge (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
}

configure() {
    mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm "$STATE"
    if [[ -f /etc/slurm/slurm.conf ]] && ! grep -qF "$MARKER" /etc/slurm/slurm.conf; then
        log "/etc/slurm/slurm.conf exists and is not ours: refusing to overwrite it"
        exit 1
    fi
    cat >/etc/slurm/slurm.conf <<EOF
$MARKER
ClusterName=nst-test
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
GresTypes=gpu
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=600
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:1 State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
    cat >/etc/slurm/gres.conf <<EOF
$MARKER
Name=gpu File=/dev/null
EOF
}

running() { [[ -f "$STATE/$1.pid" ]] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

start_daemons() {
    if ! running munged; then
        mkdir -p /run/munge && chown munge:munge /run/munge
        runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
        sleep 0.5
        cp /run/munge/munged.pid "$STATE/munged.pid"
    fi
    if ! running slurmctld; then
        # -c: forget the jobs of an earlier session; a cluster stopped while jobs ran would
        # otherwise come back with them holding the node ("alloc") and new jobs never start
        setsid /usr/sbin/slurmctld -D -c >"$STATE/slurmctld.out" 2>&1 < /dev/null &
        echo $! >"$STATE/slurmctld.pid"
    fi
    if ! running slurmd; then
        setsid /usr/sbin/slurmd -D >"$STATE/slurmd.out" 2>&1 < /dev/null &
        echo $! >"$STATE/slurmd.pid"
    fi
}

wait_idle() {
    for _ in $(seq 1 60); do
        if sinfo -h -N -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
            return 0
        fi
        # a node that came back after a restart may need resuming
        scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
        sleep 1
    done
    log "the node did not become idle; see $STATE/*.out and /var/log/slurm/"
    sinfo -N >&2 || true
    return 1
}

stop_daemons() {
    local name pid
    for name in slurmd slurmctld munged; do
        if running "$name"; then
            pid=$(cat "$STATE/$name.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$STATE/$name.pid"
    done
}

case "${1:-}" in
    up)
        install_packages
        configure
        start_daemons
        wait_idle
        log "up: $(sinfo -h -o '%P %D %t' | head -1), $(sinfo --version)"
        ;;
    down)
        stop_daemons
        log "down"
        ;;
    status)
        if running slurmctld; then sinfo -N; else echo down; fi
        ;;
    *)
        sed -n '2,12p' "$0" >&2
        exit 2
        ;;
esac
