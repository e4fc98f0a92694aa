#!/usr/bin/env bash
# A real single-node Slurm for trying sweeps: munge + slurmctld + slurmd from Debian's
# packages, configured under .slurm/ (no cgroups, no systemd). Needs root. Prints the
# SLURM_CONF to export. `just slurm-down` stops exactly these daemons.
set -euo pipefail
fail() { echo "slurm-up: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (it installs packages and starts daemons); run it as root or in a container"
root=$(pwd)/.slurm
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurmctld slurmd slurm-client munge (Debian packages) ..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null \
        || fail "apt-get install failed (run apt-get update first?)"
fi
mkdir -p "$root/state" "$root/spool" "$root/log"
host=$(hostname -s)
cpus=$(nproc)
conf=$root/slurm.conf
cat > "$conf" <<CONF
ClusterName=lz
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$root/state
SlurmdSpoolDir=$root/spool
SlurmctldPidFile=$root/slurmctld.pid
SlurmdPidFile=$root/slurmd.pid
SlurmctldLogFile=$root/log/slurmctld.log
SlurmdLogFile=$root/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if ! alive "$root/munged.pid"; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    [ -f /etc/munge/munge.key ] || fail "/etc/munge/munge.key is missing (reinstall munge)"
    su -s /bin/sh munge -c "/usr/sbin/munged --pid-file=/run/munge/lz-munged.pid" \
        || fail "munged did not start"
    cp /run/munge/lz-munged.pid "$root/munged.pid"
fi
munge -n | unmunge >/dev/null || fail "munge does not work (munge -n | unmunge)"
alive "$root/slurmctld.pid" || slurmctld -f "$conf"
alive "$root/slurmd.pid" || slurmd -f "$conf"
for _ in $(seq 1 30); do
    if SLURM_CONF=$conf sinfo -h -o %T 2>/dev/null | grep -q idle; then
        echo "slurm up: node $host ($cpus CPUs) idle; export SLURM_CONF=$conf"
        exit 0
    fi
    sleep 1
done
fail "the node did not become idle in 30 s: see $root/log/"
