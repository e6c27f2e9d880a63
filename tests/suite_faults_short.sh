#!/usr/bin/env bash
# The fault runs of tests/reliability/faults.sh with short loads (about 40 s):
# reload under load, corrupt-model reload, kill -9 of a worker, clients gone
# mid-batch, graceful shutdown in flight.  $1: absolute build dir.
# Last line: N passed, N failed, N skipped.
FAULTS_SHORT=1 exec bash "$(dirname "$0")/reliability/faults.sh" "$@"
