"""Throughput of bbans.dask with 1 and 2 workers against `bbans compress -T 1` and `-T 2` on the
same file, alternating runs (the machine may be shared: compare ratios of the same run).

    PYTHONPATH=build/python /usr/bin/python3 tests/bench/dask_throughput.py build/src/bbans FILE [SHARD_IMAGES] [ROUNDS] [MODEL]

The clusters are started once, before timing (a LocalCluster takes a few seconds to start);
each dask run codes every shard again (a fresh output folder, nothing kept)."""
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from distributed import Client, LocalCluster

import bbans.dask as bd


def main():
    cli, path = sys.argv[1], sys.argv[2]
    shard = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    model = sys.argv[5] if len(sys.argv) > 5 else None
    size = os.path.getsize(path)
    images = (size - 16) // 784
    tmp = tempfile.mkdtemp(prefix="bbans-dask-bench-")
    times = {k: [] for k in ("cli -T 1", "dask 1 worker", "cli -T 2", "dask 2 workers")}
    out_bytes = {}
    clusters = {}
    try:
        for n in (1, 2):
            cl = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, silence_logs=logging.ERROR, dashboard_address=":0")
            clusters[n] = (cl, Client(cl))
        for _ in range(rounds):
            for t in (1, 2):
                start = time.perf_counter()
                out = subprocess.run([cli, "compress", "-q", "-T", str(t), *(["--model", model] if model else []), "-c", path], check=True, capture_output=True).stdout
                times[f"cli -T {t}"].append(time.perf_counter() - start)
                out_bytes["cli"] = len(out)
                d = os.path.join(tmp, f"w{t}")
                shutil.rmtree(d, ignore_errors=True)
                r = bd.compress_files([path], d, client=clusters[t][1], shard_images=shard, model=model)
                times[f"dask {t} worker" + ("s" if t == 2 else "")].append(r.seconds)
                out_bytes["dask"] = r.output_bytes
        print(f"{path}: {size} bytes, {images} images; shards of {shard} images; model {model or '(chosen)'}; medians of {rounds} alternating runs")
        for k, v in times.items():
            m = statistics.median(v)
            print(f"  {k:15s} {m:6.2f} s  {images / m:7.0f} images/s  {size / m / 1e6:5.2f} MB/s   ({', '.join(f'{x:.2f}' for x in v)})")
        print(f"  dask 1 worker / cli -T 1: {statistics.median(times['dask 1 worker']) / statistics.median(times['cli -T 1']):.2f}x time; "
              f"dask 2 workers / cli -T 2: {statistics.median(times['dask 2 workers']) / statistics.median(times['cli -T 2']):.2f}x; "
              f"dask 2 / 1 workers: {statistics.median(times['dask 2 workers']) / statistics.median(times['dask 1 worker']):.2f}x")
        print(f"  output: cli {out_bytes['cli']} bytes, dask shards {out_bytes['dask']} bytes")
    finally:
        for cl, c in clusters.values():
            c.close()
            cl.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
