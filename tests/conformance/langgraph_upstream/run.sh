#!/bin/bash
# usage: run.sh WORKTREE LABEL [pytest args]
WT=$1; LABEL=$2; shift 2; W=${LG_WORK:-/tmp/upstream-lg}; PY=${PY:-python}
mkdir -p $W/results
for s in checkpoint checkpoint-sqlite checkpoint-postgres; do
  cd $W/run/suites/$s
  PYTHONPATH=$WT/src:$W/run:$W/site:. timeout 3000 nice -n 5 $PY -m pytest -p no:cacheprovider -q -rA --tb=line -o addopts="" --timeout=90 "$@" tests > $W/results/$LABEL-$s.txt 2>&1
  echo "$s: $(tail -1 $W/results/$LABEL-$s.txt)"
done
