#!/bin/bash
# usage: run_pg_large.sh SRC LABEL : postgres suite; large-batch tests each in their own process
WT=$1; LABEL=$2; W=${LG_WORK:-/tmp/upstream-lg}; PY=${PY:-python}
cd $W/run/suites/checkpoint-postgres
export PYTHONPATH=$WT/src:$W/run:$W/site:.
timeout 3000 nice -n 5 $PY -m pytest -p no:cacheprovider -q -rA --tb=line -o addopts="" --timeout=90 -k "not large_batches" tests > $W/results/$LABEL-pg-main.txt 2>&1
echo "pg main: $(tail -1 $W/results/$LABEL-pg-main.txt)"
for t in "test_async_store.py::test_large_batches" "test_async_store.py::test_large_batches_async"; do
  for p in default pipe pool; do
    timeout 150 nice -n 5 $PY -m pytest -p no:cacheprovider -q -rA --tb=line -o addopts="" --timeout=120 "tests/$t[$p]" > $W/results/$LABEL-pg-$(basename $t)-$p.txt 2>&1
    echo "$t[$p]: rc=$? $(tail -1 $W/results/$LABEL-pg-$(basename $t)-$p.txt)"
  done
done
