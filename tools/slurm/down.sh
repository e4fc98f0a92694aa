#!/usr/bin/env bash
# Stops the daemons `just slurm-up` started, by the pids in .slurm/ (never by name).
set -uo pipefail
root=$(pwd)/.slurm
for d in slurmd slurmctld munged; do
    f=$root/$d.pid
    pid=$(cat "$f" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" && echo "stopped $d ($pid)"
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    rm -f "$f"
done
