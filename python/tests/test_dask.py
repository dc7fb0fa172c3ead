# Tests of bbans.dask (sharded compression on dask.distributed) on a LocalCluster of two worker
# processes. Skipped when Debian's python3-distributed is not installed. Run by CTest with the
# module's other tests (python_module).
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bbans
import bbans.dask as bd

distributed = pytest.importorskip("distributed")

SOURCE = Path(os.environ.get("BBANS_SOURCE_DIR", Path(__file__).resolve().parents[2]))
MNIST = SOURCE / "corpora" / "samples" / "mnist-test-1000-images-idx3-ubyte"
TEMP = re.compile(r"\.tmp$")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, silence_logs=logging.CRITICAL,
                                       dashboard_address=":0")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """An IDX file of 400 digits, a .npy file of 150 RGB images and a text file."""
    d = tmp_path_factory.mktemp("inputs")
    raw = MNIST.read_bytes()
    idx = d / "digits-idx3-ubyte"
    idx.write_bytes(b"\0\0\x08\x03" + (400).to_bytes(4, "big") + raw[8:16] + raw[16:16 + 400 * 784])
    digits = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
    rgb = np.ascontiguousarray(np.stack([digits[400:550], digits[550:700], digits[700:850]], axis=-1))
    npy = d / "colour.npy"
    np.save(npy, rgb)
    text = d / "notes.txt"
    text.write_bytes(b"bits-back coding with asymmetric numeral systems\n" * 200)
    return [idx, npy, text]


def shard_files(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".bbx"))


def no_partial_files(folder):
    """Every file under a shard's name is complete (its manifest's checksum, or a valid archive),
    and no temporary file is left."""
    for p in Path(folder).rglob("*"):
        assert not TEMP.search(p.name), f"temporary file left: {p}"


def test_files_round_trip(client, inputs, tmp_path):
    out = tmp_path / "shards"
    r = bd.compress_files(inputs, out, client=client, shard_images=100)
    assert (r.coded, r.kept) == (4 + 2 + 1, 0)
    assert shard_files(out) == ["colour.npy.00000.bbx", "colour.npy.00001.bbx", "digits-idx3-ubyte.00000.bbx",
                                "digits-idx3-ubyte.00001.bbx", "digits-idx3-ubyte.00002.bbx", "digits-idx3-ubyte.00003.bbx",
                                "notes.txt.bbx"]
    m = json.loads((out / "manifest.json").read_text())
    assert m == r.manifest
    assert sorted(p.name for p in (out / bd.RECORDS).iterdir()) == [n + ".json" for n in shard_files(out)]
    assert [s["range"] for s in m["shards"][:4]] == [[0, 100], [100, 200], [200, 300], [300, 400]]
    for s in m["shards"]:
        data = (out / s["name"]).read_bytes()
        assert len(data) == s["bytes"]
    # A shard is an ordinary archive: the images of its range, or the whole file.
    digits = np.fromfile(inputs[0], np.uint8, offset=16).reshape(-1, 28, 28)
    assert np.array_equal(bbans.decompress((out / "digits-idx3-ubyte.00002.bbx").read_bytes()), digits[200:300])
    assert bbans.decompress_bytes((out / "notes.txt.bbx").read_bytes()) == inputs[2].read_bytes()
    assert m["shards"][0]["bytes"] < 0.25 * m["shards"][0]["input_bytes"]  # bits-back on the digits
    back = tmp_path / "back"
    paths = bd.decompress(out / "manifest.json", back, client=client)
    assert [Path(p).name for p in paths] == [p.name for p in inputs]
    for p in inputs:
        assert (back / p.name).read_bytes() == p.read_bytes()
    assert np.array_equal(bd.decompress_array(out / "manifest.json", source=1, client=client), np.load(inputs[1]))
    with pytest.raises(FileExistsError, match="exists"):
        bd.decompress(out / "manifest.json", back, client=client)
    no_partial_files(out)
    no_partial_files(back)


def test_array_round_trip(client, tmp_path):
    a = np.fromfile(MNIST, np.uint8, offset=16).reshape(-1, 28, 28)[:450]
    r = bd.compress_array(a, tmp_path / "s", shard_images=100, client=client)
    assert len(r.manifest["shards"]) == 5 and r.manifest["shards"][-1]["range"] == [400, 450]
    assert r.images == 450 and r.input_bytes == a.nbytes
    back = bd.decompress_array(tmp_path / "s" / "manifest.json", client=client)
    assert back.dtype == np.uint8 and np.array_equal(back, a)
    # Without a cluster (here, one shard after another), the same bytes.
    r2 = bd.compress_array(a, tmp_path / "t", shard_images=100)
    assert r2.manifest == r.manifest
    bd.decompress(tmp_path / "t" / "manifest.json", tmp_path / "u")
    assert np.array_equal(np.load(tmp_path / "u" / "array.npy"), a)
    # A named model (loaded once per worker) codes what bbans.compress codes with it.
    r3 = bd.compress_array(a[:100], tmp_path / "m", shard_images=50, client=client, model="mnist")
    assert r3.manifest["options"]["model"] == "mnist"
    assert (tmp_path / "m" / "array.00001.bbx").read_bytes() == bbans.compress(a[50:100], "mnist", threads=1)


def test_rerun_keeps_good_shards_and_recodes_damaged_ones(client, tmp_path):
    a = np.fromfile(MNIST, np.uint8, offset=16).reshape(-1, 28, 28)[:300]
    out = tmp_path / "s"
    first = bd.compress_array(a, out, shard_images=50, client=client)
    again = bd.compress_array(a, out, shard_images=50, client=client)
    assert (again.coded, again.kept) == (0, 6) and again.manifest == first.manifest
    (out / "array.00001.bbx").unlink()
    damaged = bytearray((out / "array.00004.bbx").read_bytes())
    damaged[len(damaged) // 2] ^= 1
    (out / "array.00004.bbx").write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="array.00001.bbx is missing"):
        bd.verify(out / "manifest.json")
    with pytest.raises(ValueError, match="array.00001.bbx is missing|array.00004.bbx is damaged"):
        bd.decompress_array(out / "manifest.json", client=client)
    (out / "manifest.json").unlink()
    third = bd.compress_array(a, out, shard_images=50, client=client)
    assert (third.coded, third.kept) == (2, 4) and third.manifest == first.manifest
    bd.verify(out / "manifest.json")
    # Other images into the same folder: nothing is overwritten without force.
    b = a.copy()
    b[0, 0, 0] ^= 1
    with pytest.raises(FileExistsError, match="manifest.json exists"):
        bd.compress_array(b, out, shard_images=50, client=client)
    r = bd.compress_array(b, out, shard_images=50, client=client, force=True)
    assert (r.coded, r.kept) == (1, 5)
    assert np.array_equal(bd.decompress_array(out / "manifest.json", client=client), b)


def test_killed_worker_leaves_no_partial_shard_and_the_rerun_completes(client, inputs, tmp_path):
    clean = bd.compress_files(inputs[:1], tmp_path / "clean", shard_images=100, client=client).manifest
    out = tmp_path / "s"
    marker = tmp_path / "killed"
    # The worker coding shard 2 writes half of it to its temporary file and kills itself; dask
    # is told not to retry, so the run fails.
    scheduler = client.cluster.scheduler
    allowed = scheduler.allowed_failures
    scheduler.allowed_failures = 0
    try:
        with pytest.raises(RuntimeError, match="workers died"):
            bd.compress_files(inputs[:1], out, shard_images=100, client=client,
                              _crash=(str(marker), "digits-idx3-ubyte.00002.bbx"))
    finally:
        scheduler.allowed_failures = allowed
    assert marker.exists()
    assert not (out / "manifest.json").exists()
    assert not (out / "digits-idx3-ubyte.00002.bbx").exists()
    by_name = {s["name"]: s for s in clean["shards"]}
    for name in shard_files(out):  # the shards that were finished are whole
        data = (out / name).read_bytes()
        assert bd._sha256(data) == by_name[name]["sha256"]
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker
    r = bd.compress_files(inputs[:1], out, shard_images=100, client=client)
    assert r.coded >= 1 and r.coded + r.kept == 4
    assert r.manifest == clean
    no_partial_files(out)
    # With dask's retries (the default), the killed task runs again on a worker and the first
    # run completes, with the same manifest.
    marker.unlink()
    r = bd.compress_files(inputs[:1], tmp_path / "t", shard_images=100, client=client,
                          _crash=(str(marker), "digits-idx3-ubyte.00001.bbx"))
    assert marker.exists() and r.manifest == clean
    no_partial_files(tmp_path / "t")
    client.wait_for_workers(2, timeout=60)


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-m", "bbans.dask", *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=120)


def test_command_line(inputs, tmp_path):
    out = tmp_path / "s"
    r = run_cli("compress", "--workers", 2, "--shard-images", 200, "--out", out, *inputs)
    assert r.returncode == 0, r.stderr
    assert "4 shards (4 coded, 0 kept)" in r.stderr
    r = run_cli("decompress", out / "manifest.json", "--workers", 1, "--out", tmp_path / "back")
    assert r.returncode == 0, r.stderr
    for p in inputs:
        assert (tmp_path / "back" / p.name).read_bytes() == p.read_bytes()
    # Errors: one line, exit 1, found before a cluster starts.
    r = run_cli("decompress", out / "manifest.json", "--workers", 1, "--out", tmp_path / "back")
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert r.stderr.startswith("bbans.dask: ") and "exists (use -f to overwrite)" in r.stderr
    r = run_cli("compress", "--workers", 1, "--out", out, tmp_path / "missing")
    assert r.returncode == 1 and r.stderr == f"bbans.dask: {tmp_path / 'missing'}: no such file\n"
    r = run_cli("compress", "--workers", 1, "--scheduler", "tcp://127.0.0.1:1", "--out", out, inputs[0])
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "not allowed with" in r.stderr
    r = run_cli("decompress", inputs[2], "--out", tmp_path / "x")
    assert r.returncode == 1 and r.stderr == f"bbans.dask: {inputs[2]} is not a bbans.dask manifest (Expecting value: line 1 column 1 (char 0))\n"
