# Tests of the Python module (CTest runs them: python/CMakeLists.txt). They need the module on
# PYTHONPATH; BBANS_CLI names the bbans binary for the comparisons with the CLI and
# BBANS_SOURCE_DIR the repository (for the bundled corpora samples).
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import bbans

SOURCE = Path(os.environ.get("BBANS_SOURCE_DIR", Path(__file__).resolve().parents[2]))
MNIST = SOURCE / "corpora" / "samples" / "mnist-test-1000-images-idx3-ubyte"
CLI = os.environ.get("BBANS_CLI")


def idx_images(path, count):
    return np.fromfile(path, dtype=np.uint8, offset=16, count=count * 784).reshape(count, 28, 28)


@pytest.fixture(scope="module")
def digits():
    return idx_images(MNIST, 64)


def cli(*args, stdin=None):
    if not CLI:
        pytest.skip("BBANS_CLI is not set")
    return subprocess.run([CLI, *args], input=stdin, capture_output=True, check=True).stdout


# ---- round trips -------------------------------------------------------------------------------


def test_real_digits_round_trip_with_bits_back(digits):
    data = bbans.compress(digits)
    assert isinstance(data, bytes)
    assert len(data) < 0.2 * digits.nbytes  # bits-back with the mnist model: about 1.2 bits/pixel
    back = bbans.decompress(data)
    assert back.dtype == np.uint8 and back.shape == digits.shape
    assert np.array_equal(back, digits)
    assert back.flags.c_contiguous and back.flags.writeable


@pytest.mark.parametrize("shape", [(5, 10, 12), (1, 1, 1), (3, 7, 9, 3), (2, 6, 5, 2), (2, 4, 4, 4)])
def test_random_round_trip(shape):
    a = np.random.default_rng(7).integers(0, 256, size=shape, dtype=np.uint8)
    back = bbans.decompress(bbans.compress(a))
    assert back.shape == a.shape and np.array_equal(back, a)


def test_colour_images_round_trip(digits):
    # Smooth RGB images (three digits as the channels) code with the photo-rgb tile model.
    rgb = np.ascontiguousarray(np.stack([digits[0:4], digits[4:8], digits[8:12]], axis=-1))
    assert rgb.shape == (4, 28, 28, 3)
    data = bbans.compress(rgb)
    assert np.array_equal(bbans.decompress(data), rgb)


def test_one_channel_axis_comes_back_three_dimensional(digits):
    a = digits[:3].reshape(3, 28, 28, 1)
    back = bbans.decompress(bbans.compress(a))
    assert back.shape == (3, 28, 28) and np.array_equal(back, digits[:3])


def test_bytes_like_inputs_and_threads(digits):
    data = bbans.compress(digits[:20], threads=1)
    assert bbans.compress(digits[:20], threads=2, chunk=0) == data
    for view in (bytearray(data), memoryview(data), np.frombuffer(data, np.uint8)):
        assert np.array_equal(bbans.decompress(view), digits[:20])


def test_chunks_do_not_change_the_images(digits):
    data = bbans.compress(digits, chunk=10)
    assert np.array_equal(bbans.decompress(data, threads=2), digits)


# ---- bad input ---------------------------------------------------------------------------------


def test_wrong_dtype_raises():
    with pytest.raises(TypeError, match="uint8"):
        bbans.compress(np.zeros((2, 4, 4), dtype=np.float64))
    with pytest.raises(TypeError, match="uint8"):
        bbans.compress(np.zeros((2, 4, 4), dtype=np.int8))
    with pytest.raises(TypeError, match="numpy array"):
        bbans.compress([[[1, 2], [3, 4]]])


def test_wrong_rank_raises():
    with pytest.raises(ValueError, match="rank 2"):
        bbans.compress(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="rank 5"):
        bbans.compress(np.zeros((1, 2, 2, 2, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="1 to 4 channels"):
        bbans.compress(np.zeros((1, 2, 2, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="at least one image"):
        bbans.compress(np.zeros((0, 2, 2), dtype=np.uint8))


def test_non_contiguous_raises(digits):
    with pytest.raises(ValueError, match="C-contiguous"):
        bbans.compress(digits[:, ::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        bbans.compress(np.asfortranarray(digits[:4]))
    with pytest.raises(ValueError, match="C-contiguous"):
        bbans.compress(digits[:4].transpose(0, 2, 1))


def test_truncated_and_damaged_bytes_raise(digits):
    data = bbans.compress(digits[:8])
    for bad in (data[: len(data) // 2], data[:-1], data[:10], b"", b"not an archive at all, not at all"):
        with pytest.raises(ValueError):
            bbans.decompress(bad)
    damaged = bytearray(data)
    damaged[40] ^= 0x10  # inside the chunk data: its checksum catches it
    with pytest.raises(ValueError, match="checksum"):
        bbans.decompress(bytes(damaged))
    with pytest.raises(TypeError):
        bbans.decompress("a string")
    with pytest.raises(ValueError, match="contiguous"):
        bbans.decompress(memoryview(data + data)[::2])


def test_unknown_model_raises(digits, tmp_path):
    with pytest.raises(ValueError, match="no model named 'no-such-model'"):
        bbans.compress(digits[:2], model="no-such-model")
    with pytest.raises(ValueError, match="no model named"):
        bbans.load_model("no-such-model")
    with pytest.raises(FileNotFoundError, match="no such model file"):
        bbans.load_model(str(tmp_path / "missing.bbm"))
    broken = tmp_path / "broken.bbm"
    broken.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="broken.bbm"):
        bbans.load_model(broken)


def test_method():
    a = np.zeros((3, 8, 8), np.uint8)
    assert np.array_equal(bbans.decompress(bbans.compress(a, method="stored")), a)
    with pytest.raises(ValueError, match="method must be one of"):
        bbans.compress(a, method="gzip")


def test_a_named_model_must_code_the_images():
    # The CLI's message: "model photo-rgb cannot code this input: no model codes 30x30 images (photo-rgb codes images of 3 channels)"
    # (a colour model codes no grey image; a grey model codes colour images as planes, below)
    with pytest.raises(ValueError, match=r"model photo-rgb cannot code this input: no model codes 30x30 images \(photo-rgb codes images of 3 channels\)"):
        bbans.compress(np.zeros((2, 30, 30), dtype=np.uint8), model="photo-rgb")


def test_a_grey_model_codes_colour_images_as_planes():
    rng = np.random.default_rng(5)
    a = (np.arange(2 * 30 * 30 * 3).reshape(2, 30, 30, 3) % 97 + rng.integers(0, 9, (2, 30, 30, 3))).astype(np.uint8)
    data = bbans.compress(a, model="mnist", method="bits-back")
    assert np.array_equal(bbans.decompress(data), a)


# ---- the CLI's bytes -----------------------------------------------------------------------------


def entry_kind(data):
    """The kind byte of a version 2 archive's one directory entry (3: an image set)."""
    offset, size = struct.unpack_from("<QQ", data, len(data) - 32)
    directory = data[offset : offset + size]
    assert struct.unpack_from("<I", directory, 0)[0] == 1
    return directory[4]


@pytest.mark.parametrize("count", [1, 30])
def test_bytes_equal_the_clis_for_raw_images(digits, count):
    images = digits[:count]
    ours = bbans.compress(images)
    theirs = cli("compress", "-q", "--shape", "28x28", "-c", "-", stdin=images.tobytes())
    assert ours == theirs
    assert entry_kind(ours) == 3
    assert cli("decompress", "-c", "-", stdin=ours) == images.tobytes()
    assert np.array_equal(bbans.decompress(theirs), images)


def test_bytes_equal_the_clis_for_colour_and_noise(digits):
    rng = np.random.default_rng(3)
    rgb = np.ascontiguousarray(np.stack([digits[0:4], digits[4:8], digits[8:12]], axis=-1))
    for a, shape, method in ((rgb, "28x28x3", "bits-back"),  # photo-rgb (zstd is smaller unforced)
                             (rgb, "28x28x3", None),
                             (rng.integers(0, 256, (2, 9, 7, 3), dtype=np.uint8), "9x7x3", None),  # stored
                             (rng.integers(0, 256, (4, 5, 6), dtype=np.uint8), "5x6", None)):
        ours = bbans.compress(a, threads=2, method=method)
        forced = ["--method", method] if method else []
        theirs = cli("compress", "-q", "-T", "1", *forced, "--shape", shape, "-c", "-", stdin=a.tobytes())
        assert ours == theirs
        assert entry_kind(ours) == 3
        assert cli("decompress", "-c", "-", stdin=ours) == a.tobytes()


def test_decompress_reads_the_clis_idx_archive(tmp_path):
    idx = tmp_path / "d.idx"
    idx.write_bytes(struct.pack(">IIII", 0x803, 40, 28, 28) + MNIST.read_bytes()[16 : 16 + 40 * 784])
    archive = cli("compress", "-q", "-c", str(idx))
    assert np.array_equal(bbans.decompress(archive), idx_images(idx, 40))


def test_compress_bytes_equals_the_cli_on_standard_input(tmp_path):
    idx = struct.pack(">IIII", 0x803, 30, 28, 28) + MNIST.read_bytes()[16 : 16 + 30 * 784]
    text = b"not an image\n" * 100
    for data in (idx, text):
        ours = bbans.compress_bytes(data, "stdin", threads=1)
        assert ours == cli("compress", "-q", "-T", "1", "-c", "-", stdin=data)
        assert bbans.decompress_bytes(ours) == data
        assert cli("decompress", "-c", "-", stdin=bbans.compress_bytes(data, "any name")) == data
    assert len(bbans.compress_bytes(idx)) < 0.25 * len(idx)  # bits-back on an IDX file's images
    assert bbans.decompress_bytes(bbans.compress(idx_images(MNIST, 3))) == idx_images(MNIST, 3).tobytes()
    with pytest.raises(TypeError):
        bbans.compress_bytes("text")
    with pytest.raises(ValueError):
        bbans.decompress_bytes(bbans.compress_bytes(text)[:-5])


# ---- models, report, training ------------------------------------------------------------------


def test_models_and_load_model():
    found = {m["name"]: m for m in bbans.models()}
    assert {"mnist", "fashion-mnist", "photo-grey", "photo-rgb"} <= set(found)
    m = found["mnist"]
    assert (m["rows"], m["cols"], m["channels"], m["latent"]) == (28, 28, 1, 32)
    assert found["photo-rgb"]["channels"] == 3
    assert m["bytes"] == os.path.getsize(m["path"]) and m["neg_elbo_bpd"] > 1
    model = bbans.load_model("mnist")
    assert (model.name, model.rows, model.cols, model.channels) == ("mnist", 28, 28, 1)
    assert model.path == m["path"]
    assert bbans.load_model(m["path"]).identity == model.identity
    assert os.path.dirname(m["path"]) in bbans.search_path()
    if CLI:
        import json

        # (The paths differ for an installed module, which has its own copy of the models.)
        def without_paths(rows):
            return [{k: v for k, v in r.items() if k != "path"} for r in rows]

        assert without_paths(json.loads(cli("models", "--json"))) == without_paths(bbans.models())


def test_report_fields(digits):
    r = bbans.report(digits[:50], model="mnist", threads=1)
    assert r["method"] == "bits-back" and r["exact"] is True
    assert r["images"] == 50 and r["rows"] == 28 and r["input_bytes"] == 50 * 784
    assert 0.8 < r["net_bpd"] < 1.8 and r["zstd_bpd"] > r["total_bpd"]
    assert r["input"] == "array"
    if CLI:
        import json

        theirs = json.loads(cli("report", "-q", "-T", "1", "--model", "mnist", "--shape", "28x28", "--json", "-", "-",
                                stdin=digits[:50].tobytes()))
        assert set(theirs) == set(r)
        timing = {k for k in r if k.endswith("_s") or "time" in k or k.endswith("_ratio") or k == "input"}
        assert {k: v for k, v in r.items() if k not in timing} == {k: v for k, v in theirs.items() if k not in timing}


def test_train_code_save_load(tmp_path):
    images = idx_images(MNIST, 300)
    events = []
    model = bbans.train(images[:240], images[240:], epochs=2, latent=4, widths=32, batch_size=32, threads=2,
                        progress=events.append, name="tiny")
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]
    assert events[-1]["heldout_neg_elbo_bpd"] > 0
    assert model.name == "tiny" and model.latent == 4 and model.path is None and model.heldout_neg_elbo_bpd > 0
    data = bbans.compress(images[240:], model=model, method="bits-back")
    with pytest.raises(RuntimeError, match="needs model"):
        bbans.decompress(data)  # not on the search path
    assert np.array_equal(bbans.decompress(data, model=model), images[240:])
    path = tmp_path / "tiny.bbm"
    model.save(str(path))
    assert (tmp_path / "tiny.bbm.md").exists()
    with pytest.raises(FileExistsError):
        model.save(str(path))
    assert bbans.load_model(path).identity == model.identity
    assert np.array_equal(bbans.decompress(data, model_dirs=[tmp_path]), images[240:])
    with pytest.raises(ValueError, match="only a model trained"):
        bbans.load_model(path).save(str(tmp_path / "again.bbm"))


def test_train_latent_options(tmp_path):
    images = idx_images(MNIST, 120)
    model = bbans.train(images[:100], images[100:], epochs=1, latent=4, widths=16, batch_size=20, threads=2,
                        head_hidden=8, head_layers=2, latent2=3, latent2_hidden=8, free_bits=0.5, kl_warmup=5, shift=1,
                        weight_decay=0.01, name="options")
    path = tmp_path / "options.bbm"
    model.save(str(path))
    card = (tmp_path / "options.bbm.md").read_text()
    assert "second latent layer z2 of 3" in card and "-> 2x8 ->" in card
    assert "KL warm-up 5 steps, free bits 0.5 per latent dimension, shifts of up to 1 pixels" in card
    data = bbans.compress(images[100:], model=model, method="bits-back")
    assert np.array_equal(bbans.decompress(data, model=model), images[100:])
    flat = bbans.train(images[:100], images[100:], epochs=1, latent=4, widths=16, batch_size=20, context=False)
    flat.save(str(tmp_path / "flat.bbm"))
    assert "causal neighbours" not in (tmp_path / "flat.bbm.md").read_text()
    assert np.array_equal(bbans.decompress(bbans.compress(images[100:], model=flat, method="bits-back"), model=flat),
                          images[100:])
    skip = bbans.train(images[:100], images[100:], epochs=1, latent=4, widths=16, batch_size=20, head_hidden=8,
                       head_skip=True)
    skip.save(str(tmp_path / "skip.bbm"))
    assert "per-sample head 16 -> 8 -> 15 (" in (tmp_path / "skip.bbm.md").read_text()
    assert "linear skip from the 16 inputs" in (tmp_path / "skip.bbm.md").read_text()
    assert "linear skip" not in card
    assert np.array_equal(bbans.decompress(bbans.compress(images[100:], model=skip, method="bits-back"), model=skip),
                          images[100:])
    with pytest.raises(ValueError, match="free_bits"):
        bbans.train(images, epochs=1, free_bits=-1)


def test_train_head_per_channel(tmp_path):
    # A tiny RGB tile model with one head per channel: its card says so and it codes exactly; a
    # grey model cannot have per-channel heads.
    grey = idx_images(MNIST, 60)
    rgb = np.ascontiguousarray(np.stack([grey, 255 - grey, grey // 4], axis=-1))
    model = bbans.train(rgb[:50], rgb[50:], epochs=1, latent=4, widths=16, batch_size=20, head_hidden=8, tile=8, crops=200,
                        test_crops=20, head_per_channel=True)
    model.save(str(tmp_path / "pc.bbm"))
    assert "3 per-channel heads, each 24 -> 8 -> 15 (" in (tmp_path / "pc.bbm.md").read_text()
    assert np.array_equal(bbans.decompress(bbans.compress(rgb[50:], model=model, method="bits-back"), model=model), rgb[50:])
    with pytest.raises(RuntimeError, match="per-channel heads need at least 2 samples per pixel"):
        bbans.train(grey, epochs=1, latent=4, widths=16, head_per_channel=True)


def test_train_stops_and_raises():
    images = idx_images(MNIST, 100)
    with pytest.raises(RuntimeError, match="stopped"):
        bbans.train(images, epochs=3, latent=2, widths=16, batch_size=10, progress=lambda e: False)

    def boom(event):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        bbans.train(images, epochs=3, latent=2, widths=16, batch_size=10, progress=boom)
    with pytest.raises(ValueError, match="2 images"):
        bbans.train(images[:1])
    with pytest.raises(RuntimeError, match="grey"):
        bbans.train(np.zeros((10, 8, 8, 3), np.uint8), epochs=1)
