"""bbans.dask: sharded compression of files or arrays on dask.distributed.

    python -m bbans.dask compress --workers 2 --shard-images 1000 --out shards/ t10k-images-idx3-ubyte notes.txt
    python -m bbans.dask decompress shards/manifest.json --out restored/

    from dask.distributed import Client, LocalCluster
    import bbans.dask
    with Client(LocalCluster(n_workers=2, threads_per_worker=1)) as client:
        bbans.dask.compress_array(images, "shards/", shard_images=1000, client=client)
        assert (bbans.dask.decompress_array("shards/manifest.json", client=client) == images).all()

A shard is an ordinary .bbx archive that `bbans decompress` reads: a whole input file
(`bbans.compress_bytes`, as `bbans compress FILE` codes it), or a range of images of an IDX or
.npy file or of an array (`bbans.compress`, an image set) when shard_images is given. Each shard
is one task. A task writes its shard's record (.bbans-dask/NAME.json: name, source, range,
SHA-256 and size of the input bytes and of the shard) and then the shard, each to a temporary
file that is fsynced and renamed into place, so a killed worker leaves nothing under a shard's
name but a complete shard. The manifest (OUT/manifest.json: the sources, the options, every
shard with its checksums, sizes and image range) is written last, atomically, when every shard
is done; it holds no times, so a rerun over the same inputs writes the same manifest.

Rerunning into the same folder keeps every shard whose file matches its record (size and
SHA-256, same source, range and options) and codes the missing and damaged ones. Nothing is
overwritten that this job did not write: a shard name taken by another file, a manifest of other
inputs or options, or an existing output of decompress is an error (FileExistsError) unless
force=True (-f). Decompression checks every shard's SHA-256 before decoding it and the SHA-256
of the bytes it decodes against the manifest.

The workers need the bbans package (and its models) and must see the input files and OUT at
the same paths as the client: a LocalCluster, or a cluster on a shared file system.
"""

import argparse
import hashlib
import io
import json
import os
import re
import signal
import struct
import sys
import time
import uuid

import numpy as np

import bbans

__all__ = ["compress_files", "compress_array", "decompress", "decompress_array", "verify", "Result", "main"]

MANIFEST = "manifest.json"
RECORDS = ".bbans-dask"
FORMAT = "bbans-dask-manifest"
FORMAT_VERSION = 1
_TEMP = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp$")


class Result:
    """What a compress_* call did: manifest (the dict written to path), coded and kept (shards
    coded by this run, and kept from an earlier one), seconds (wall time of the run)."""

    def __init__(self, manifest, path, coded, kept, seconds):
        self.manifest, self.path, self.coded, self.kept, self.seconds = manifest, path, coded, kept, seconds

    @property
    def images(self):
        return sum(s["images"] for s in self.manifest["shards"])

    @property
    def input_bytes(self):
        return sum(s["input_bytes"] for s in self.manifest["shards"])

    @property
    def output_bytes(self):
        return sum(s["bytes"] for s in self.manifest["shards"])

    def __repr__(self):
        return (f"<bbans.dask.Result {len(self.manifest['shards'])} shards ({self.coded} coded, {self.kept} kept), "
                f"{self.input_bytes} -> {self.output_bytes} bytes, {self.seconds:.2f} s>")


# ---- files ---------------------------------------------------------------------------------------


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                return h.hexdigest(), f.tell()
            h.update(block)


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_name(path):
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")


def _write_atomic(path, data, crash=None):
    """Writes data to a temporary file next to path, fsyncs it, renames it to path and fsyncs
    the folder. crash (tests only): a marker path; if it does not exist, write half the data,
    create the marker and kill this process (a worker dying in the middle of a write)."""
    tmp = _temp_name(path)
    try:
        with open(tmp, "xb") as f:
            if crash is not None and not os.path.exists(crash):
                f.write(memoryview(data)[: len(data) // 2])
                f.flush()
                os.fsync(f.fileno())
                open(crash, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(os.path.dirname(path) or ".")


def _remove_temporaries(folder):
    """Temporary files a killed task left (never a shard's own name)."""
    for d in (folder, os.path.join(folder, RECORDS)):
        if os.path.isdir(d):
            for name in os.listdir(d):
                if _TEMP.match(name):
                    try:
                        os.unlink(os.path.join(d, name))
                    except FileNotFoundError:
                        pass


# ---- sources --------------------------------------------------------------------------------------


def _image_layout(path):
    """(format, header bytes, count, shape of one image) of an IDX or .npy file of uint8 images
    (N x H x W or N x H x W x C, C = 1..4, the samples after the header), else None."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(4)
        if len(head) == 4 and head[:3] == b"\0\0\x08" and head[3] in (3, 4):
            dims = f.read(4 * head[3])
            if len(dims) == 4 * head[3]:
                shape = struct.unpack(">" + "I" * head[3], dims)
                header = head + dims
                fmt = "idx"
            else:
                return None
        elif head == b"\x93NUM":
            f.seek(0)
            try:
                version = np.lib.format.read_magic(f)
                shape, fortran, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                                         else np.lib.format.read_array_header_2_0(f))
            except ValueError:
                return None
            if fortran or dtype != np.uint8:
                return None
            header_len = f.tell()
            f.seek(0)
            header = f.read(header_len)
            fmt = "npy"
        else:
            return None
    if len(shape) not in (3, 4) or (len(shape) == 4 and not 1 <= shape[3] <= 4) or 0 in shape:
        return None
    if len(header) + int(np.prod(shape, dtype=np.uint64)) != size:
        return None
    return fmt, header, int(shape[0]), [int(d) for d in shape[1:]]


def _file_source(path, shard_images):
    st = os.stat(path)
    source = {"name": os.path.basename(path), "path": os.path.abspath(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns,
              "layout": "file"}
    layout = _image_layout(path) if shard_images else None
    if layout:
        fmt, header, count, shape = layout
        source.update(layout="images", format=fmt, header=header.hex(), count=count, shape=shape)
    return source


def _ranges(count, shard_images):
    return [[a, min(a + shard_images, count)] for a in range(0, count, shard_images)]


def _plan_shards(sources, shard_images):
    shards = []
    for i, src in enumerate(sources):
        if src["layout"] == "file":
            shards.append({"name": src["name"] + ".bbx", "source": i, "range": None})
        else:
            ranges = _ranges(src["count"], shard_images)
            width = max(5, len(str(len(ranges) - 1)))
            for k, r in enumerate(ranges):
                shards.append({"name": f"{src['name']}.{k:0{width}d}.bbx", "source": i, "range": r})
    names = [s["name"] for s in shards]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"two shards would be named {dup} (inputs with the same name?)")
    return shards


def _options(model, method, chunk):
    if model is not None and not isinstance(model, (str, os.PathLike)):
        raise TypeError("model must be None, a model name or a .bbm path (a bbans.Model cannot be sent to workers)")
    return {"model": None if model is None else os.fsdecode(model), "method": method, "chunk": int(chunk)}


# ---- the tasks -----------------------------------------------------------------------------------


def _read_input(source, shard, data):
    """The bytes (whole file) or images (range) a shard codes, checking the file did not change."""
    if source["layout"] == "array":
        return data
    st = os.stat(source["path"])
    if st.st_size != source["bytes"] or st.st_mtime_ns != source["mtime_ns"]:
        raise RuntimeError(f"{source['path']} changed since the run started")
    if source["layout"] == "file":
        with open(source["path"], "rb") as f:
            return f.read()
    a, b = shard["range"]
    per = int(np.prod(source["shape"]))
    images = np.fromfile(source["path"], dtype=np.uint8, count=(b - a) * per, offset=len(source["header"]) // 2 + a * per)
    if images.size != (b - a) * per:
        raise RuntimeError(f"{source['path']} is shorter than its header says")
    return images.reshape([b - a] + source["shape"])


# Models named by the job, loaded once per worker process (a named model codes the same bytes
# as the Model loaded from that name). With no model named, every call loads and chooses.
_LOADED = {}


def _model(name):
    if name is None:
        return None
    if name not in _LOADED:
        _LOADED[name] = bbans.load_model(name)
    return _LOADED[name]


def _compress_shard(shard, source, options, out, threads, data=None, crash=None):
    """One task: codes one shard, writes its record and then the shard, each atomically."""
    content = _read_input(source, shard, data)
    model = _model(options["model"])
    if source["layout"] == "file":
        archive = bbans.compress_bytes(content, source["name"], model, threads=threads, chunk=options["chunk"],
                                       method=options["method"])
        images = 0
    else:
        archive = bbans.compress(content, model, threads=threads, chunk=options["chunk"], method=options["method"])
        images = len(content)
    raw = memoryview(content).cast("B") if isinstance(content, np.ndarray) else content
    entry = dict(shard, images=images, input_bytes=len(raw), input_sha256=_sha256(raw), bytes=len(archive), sha256=_sha256(archive))
    record = {"source": source, "options": options, "shard": entry}
    _write_atomic(os.path.join(out, RECORDS, shard["name"] + ".json"), json.dumps(record, sort_keys=True).encode())
    _write_atomic(os.path.join(out, shard["name"]), archive, crash=crash)
    return entry


def _check_shard(folder, entry):
    path = os.path.join(folder, entry["name"])
    try:
        digest, size = _file_sha256(path)
    except FileNotFoundError:
        raise ValueError(f"shard {path} is missing") from None
    if size != entry["bytes"] or digest != entry["sha256"]:
        raise ValueError(f"shard {path} is damaged: its size or SHA-256 differs from the manifest's")
    with open(path, "rb") as f:
        return f.read()


def _decode_shard(folder, entry, source, threads):
    archive = _check_shard(folder, entry)
    if entry["range"] is None:
        content = bbans.decompress_bytes(archive, threads=threads)
        raw = content
    else:
        content = bbans.decompress(archive, threads=threads)
        a, b = entry["range"]
        if list(content.shape) != [b - a] + list(source["shape"]) and not (
                source["shape"][-1:] == [1] and list(content.shape) == [b - a] + list(source["shape"][:-1])):
            raise ValueError(f"shard {entry['name']} holds images of shape {content.shape}, not {b - a} x {source['shape']}")
        raw = memoryview(np.ascontiguousarray(content)).cast("B")
    if len(raw) != entry["input_bytes"] or _sha256(raw) != entry["input_sha256"]:
        raise ValueError(f"shard {entry['name']} decodes to bytes whose SHA-256 differs from the manifest's")
    return content


def _decompress_file_shard(folder, entry, source, target, threads):
    """A whole-file shard to its output file (atomically)."""
    _write_atomic(target, _decode_shard(folder, entry, source, threads))
    return target


def _decompress_range_shard(folder, entry, source, partial, threads):
    """A range of images into their place in the output's temporary file."""
    images = _decode_shard(folder, entry, source, threads)
    per = int(np.prod(source["shape"]))
    offset = len(source["header"]) // 2 + entry["range"][0] * per
    fd = os.open(partial, os.O_WRONLY)
    try:
        view = memoryview(np.ascontiguousarray(images)).cast("B")
        while view:
            n = os.pwrite(fd, view, offset)
            view, offset = view[n:], offset + n
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry["name"]


def _decompress_array_shard(folder, entry, source, threads):
    return _decode_shard(folder, entry, source, threads)


# ---- running tasks --------------------------------------------------------------------------------


def _run(client, calls):
    """calls: [(function, args, kwargs)]; their results in order. With a client, one task each
    (the first error cancels the rest and is raised); without one, here, one after another."""
    if client is None:
        return [fn(*args, **kwargs) for fn, args, kwargs in calls]
    futures = [client.submit(fn, *args, key=f"bbans-{fn.__name__.strip('_')}-{uuid.uuid4().hex}", pure=False, **kwargs)
               for fn, args, kwargs in calls]
    try:
        return client.gather(futures)
    except BaseException as e:
        client.cancel(futures)
        if type(e).__name__ == "KilledWorker":
            raise RuntimeError("workers died while running a task (dask gave up on it); a rerun codes only the shards "
                               "that are not done") from e
        raise


# ---- compression ------------------------------------------------------------------------------


def _load_manifest(path):
    try:
        with open(path, "rb") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such manifest") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not a bbans.dask manifest ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not a bbans.dask manifest")
    if manifest.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path} is a bbans.dask manifest of version {manifest.get('version')}, not {FORMAT_VERSION}")
    return manifest


def _records(out):
    """What this job wrote before: shard name -> (source, options, shard entry), from the
    manifest and the records of finished tasks."""
    found = {}
    manifest_path = os.path.join(out, MANIFEST)
    if os.path.exists(manifest_path):
        try:
            m = _load_manifest(manifest_path)
            for s in m["shards"]:
                found[s["name"]] = (m["sources"][s["source"]], m["options"], s)
        except (ValueError, KeyError, IndexError, TypeError):
            pass
    folder = os.path.join(out, RECORDS)
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json") and not _TEMP.match(name):
                try:
                    with open(os.path.join(folder, name), "rb") as f:
                        r = json.load(f)
                    found.setdefault(r["shard"]["name"], (r["source"], r["options"], r["shard"]))
                except (ValueError, KeyError, TypeError, OSError):
                    pass
    return found


def _same_job(planned, source, options, record):
    r_source, r_options, r_shard = record
    if r_source != source or r_options != options:
        return False
    return all(r_shard.get(k) == v for k, v in planned.items())


def _check_outputs(sources, shards, options, out, force):
    """(kept, todo): the shards whose file matches this job's record, and those to code. A file
    under a shard's name that this job did not write, or a manifest of other inputs or options,
    is an error unless force."""
    out = os.fspath(out)
    manifest_path = os.path.join(out, MANIFEST)
    records = _records(out)
    if os.path.exists(manifest_path) and not force:
        try:
            old = _load_manifest(manifest_path)
            same = (old["sources"] == sources and old["options"] == options and len(old["shards"]) == len(shards) and
                    [{k: s.get(k) for k in p} for s, p in zip(old["shards"], shards)] == shards)
        except (ValueError, KeyError, TypeError):
            same = False
        if not same:
            raise FileExistsError(f"{manifest_path} exists for other inputs or options (use -f / force=True to overwrite)")
    kept, todo = {}, []
    for s in shards:
        path = os.path.join(out, s["name"])
        record = records.get(s["name"])
        ours = record is not None and _same_job(s, sources[s["source"]], options, record)
        if ours and os.path.exists(path):
            digest, size = _file_sha256(path)
            if digest == record[2]["sha256"] and size == record[2]["bytes"]:
                kept[s["name"]] = record[2]
                continue
        elif os.path.lexists(path) and not force:
            raise FileExistsError(f"{path} exists (use -f / force=True to overwrite)")
        todo.append(s)
    return kept, todo


def _compress(sources, shards, options, out, client, threads, force, data, crash):
    start = time.perf_counter()
    out = os.fspath(out)
    manifest_path = os.path.join(out, MANIFEST)
    kept, todo = _check_outputs(sources, shards, options, out, force)
    os.makedirs(os.path.join(out, RECORDS), exist_ok=True)
    _remove_temporaries(out)
    if data is not None and client is not None and todo:
        # The images of the shards to code go to the cluster (unique keys: the same images
        # scattered again by another call must not share a future that may be released).
        data = dict(zip((s["name"] for s in todo), client.scatter([data[s["name"]] for s in todo], hash=False)))
    calls = []
    for s in todo:
        kwargs = {}
        if data is not None:
            kwargs["data"] = data[s["name"]]
        if crash is not None and crash[1] == s["name"]:
            kwargs["crash"] = crash[0]
        calls.append((_compress_shard, (s, sources[s["source"]], options, out, threads), kwargs))
    try:
        coded = dict(zip((s["name"] for s in todo), _run(client, calls)))
    finally:
        _remove_temporaries(out)
    entries = [kept.get(s["name"]) or coded[s["name"]] for s in shards]
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "bbans_version": bbans.__version__, "options": options,
                "sources": sources, "shards": entries,
                "totals": {"shards": len(entries), "images": sum(e["images"] for e in entries),
                           "input_bytes": sum(e["input_bytes"] for e in entries), "bytes": sum(e["bytes"] for e in entries)}}
    text = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    try:
        with open(manifest_path, "rb") as f:
            unchanged = f.read() == text
    except FileNotFoundError:
        unchanged = False
    if not unchanged:
        _write_atomic(manifest_path, text)
    return Result(manifest, manifest_path, len(todo), len(kept), time.perf_counter() - start)


def compress_files(inputs, out, *, client=None, shard_images=None, model=None, method=None, chunk=0, threads=1, force=False,
                   _crash=None):
    """Compresses files into shards in the folder `out` (created if needed) and writes
    out/manifest.json last; returns a Result.

    Each file is one shard (NAME.bbx, as `bbans compress` codes it) unless shard_images is given
    and the file is an IDX or .npy file of uint8 images: then every shard_images images are one
    shard (NAME.00000.bbx, ...; an image set), and decompress rebuilds the file byte for byte.
    client: a dask.distributed Client (one task per shard), or None to code here, one shard
    after another. threads: threads of each task's coding (the bytes do not depend on it).
    model, method, chunk: as bbans.compress (model: a name or a .bbm path)."""
    sources, shards, options = _plan_files(inputs, shard_images, model, method, chunk)
    return _compress(sources, shards, options, out, client, threads, force, None, _crash)


def _plan_files(inputs, shard_images, model, method, chunk):
    if isinstance(inputs, (str, bytes, os.PathLike)):
        inputs = [inputs]
    if not inputs:
        raise ValueError("no input files")
    if shard_images is not None and int(shard_images) < 1:
        raise ValueError("shard_images must be at least 1")
    sources = []
    for p in inputs:
        p = os.fsdecode(p)
        if os.path.isdir(p):
            raise IsADirectoryError(f"{p} is a folder (give its files)")
        if not os.path.exists(p):
            raise FileNotFoundError(f"{p}: no such file")
        sources.append(_file_source(p, shard_images))
    return sources, _plan_shards(sources, shard_images and int(shard_images)), _options(model, method, chunk)


def compress_array(array, out, *, shard_images=1000, name="array", client=None, model=None, method=None, chunk=0, threads=1,
                   force=False, _crash=None):
    """Compresses a uint8 array of images (N x H x W or N x H x W x C) into shards of
    shard_images images (NAME.00000.bbx, ...) in the folder `out`, and writes out/manifest.json
    last; returns a Result. With a client, each shard's images are scattered to the cluster and
    coded by one task. Other arguments as compress_files."""
    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim not in (3, 4) or 0 in array.shape:
        raise ValueError(f"expected a uint8 array of images, N x H x W or N x H x W x C; got {array.dtype} of shape {array.shape}")
    if int(shard_images) < 1:
        raise ValueError("shard_images must be at least 1")
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"bad name {name!r}")
    source = {"name": name, "layout": "array", "count": int(array.shape[0]), "shape": [int(d) for d in array.shape[1:]]}
    shards = _plan_shards([source], int(shard_images))
    # The slices' checksums tell a rerun whether a shard holds these very images.
    data = {}
    for s in shards:
        part = np.ascontiguousarray(array[s["range"][0]:s["range"][1]])
        s["input_sha256"] = _sha256(memoryview(part).cast("B"))
        data[s["name"]] = part
    return _compress([source], shards, _options(model, method, chunk), out, client, threads, force, data, _crash)


# ---- decompression ---------------------------------------------------------------------------------


def verify(manifest):
    """Checks that every shard a manifest lists is there with its size and SHA-256 (without
    decoding); raises ValueError naming the first that is not. Returns the manifest."""
    manifest = os.fspath(manifest)
    m = _load_manifest(manifest)
    folder = os.path.dirname(os.path.abspath(manifest))
    for s in m["shards"]:
        digest, size = (None, None)
        path = os.path.join(folder, s["name"])
        if os.path.exists(path):
            digest, size = _file_sha256(path)
        if (digest, size) != (s["sha256"], s["bytes"]):
            raise ValueError(f"shard {path} is {'missing' if digest is None else 'damaged'}")
    return m


def _output_name(source):
    return source["name"] + ".npy" if source["layout"] == "array" else source["name"]


def decompress(manifest, out, *, client=None, threads=1, force=False):
    """Decodes every shard of a manifest and writes its sources into the folder `out`: each file
    as it was (IDX and .npy files cut into ranges rebuilt byte for byte), an array as NAME.npy.
    Every shard's SHA-256 is checked before it is decoded, and the decoded bytes' SHA-256 after.
    Existing outputs are an error unless force. Returns the paths written."""
    manifest = os.fspath(manifest)
    m = _load_manifest(manifest)
    folder = os.path.dirname(os.path.abspath(manifest))
    out = os.fspath(out)
    targets = [os.path.join(out, _output_name(src)) for src in m["sources"]]
    if len(set(targets)) != len(targets):
        raise ValueError("two sources of the manifest have the same name")
    for t in targets:
        if os.path.lexists(t) and not force:
            raise FileExistsError(f"{t} exists (use -f / force=True to overwrite)")
    os.makedirs(out, exist_ok=True)
    calls, partials = [], {}
    try:
        for i, (src, target) in enumerate(zip(m["sources"], targets)):
            shards = [s for s in m["shards"] if s["source"] == i]
            if src["layout"] == "file":
                calls += [(_decompress_file_shard, (folder, s, src, target, threads), {}) for s in shards]
                continue
            header = bytes.fromhex(src["header"]) if src["layout"] == "images" else None
            if header is None:  # an array: a .npy file of its shape
                arr_header = np.lib.format.header_data_from_array_1_0(np.empty((0,), np.uint8))
                arr_header["shape"] = tuple([src["count"]] + src["shape"])
                buf = io.BytesIO()
                np.lib.format.write_array_header_1_0(buf, arr_header)
                header = buf.getvalue()
                src = dict(src, header=header.hex())
            partial = _temp_name(target)
            with open(partial, "xb") as f:
                f.write(header)
                f.truncate(len(header) + src["count"] * int(np.prod(src["shape"])))
            partials[target] = partial
            calls += [(_decompress_range_shard, (folder, s, src, partial, threads), {}) for s in shards]
        _run(client, calls)
        for target, partial in partials.items():
            with open(partial, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(partial, target)
            _fsync_dir(out)
    finally:
        for partial in partials.values():
            if os.path.exists(partial):
                os.unlink(partial)
    return targets


def decompress_array(manifest, *, source=0, client=None, threads=1):
    """The images of one source of a manifest (an array, or an IDX or .npy file cut into
    ranges) as one uint8 array, every shard's and every range's SHA-256 checked."""
    manifest = os.fspath(manifest)
    m = _load_manifest(manifest)
    folder = os.path.dirname(os.path.abspath(manifest))
    src = m["sources"][source]
    if src["layout"] == "file":
        raise ValueError(f"source {src['name']} is a file coded whole, not images: use decompress()")
    shards = [s for s in m["shards"] if s["source"] == source]
    parts = _run(client, [(_decompress_array_shard, (folder, s, src, threads), {}) for s in shards])
    images = np.empty([src["count"]] + src["shape"], dtype=np.uint8)
    for s, part in zip(shards, parts):
        images[s["range"][0]:s["range"][1]] = part.reshape([len(part)] + src["shape"])
    return images


# ---- command line ----------------------------------------------------------------------------------


def _client(args):
    import logging

    from distributed import Client, LocalCluster

    if args.scheduler:
        return Client(args.scheduler), None
    workers = args.workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, silence_logs=logging.ERROR,
                           dashboard_address=":0")
    return Client(cluster), cluster


def _parser():
    p = _Parser(prog="python -m bbans.dask", description="Sharded bbans compression on dask.distributed.")
    sub = p.add_subparsers(dest="command", required=True)

    def cluster_options(q):
        g = q.add_mutually_exclusive_group()
        g.add_argument("--scheduler", metavar="ADDR", help="address of a running dask scheduler (tcp://host:8786)")
        g.add_argument("--workers", type=int, metavar="N", help="start a local cluster of N worker processes (default: one a core)")
        q.add_argument("-T", "--threads", type=int, default=1, metavar="N", help="threads of each task's coding (default 1)")
        q.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
        q.add_argument("-q", "--quiet", action="store_true", help="print only errors")

    c = sub.add_parser("compress", help="compress files into shards and a manifest")
    c.add_argument("inputs", nargs="+", help="input files")
    c.add_argument("--out", required=True, metavar="DIR", help="folder of the shards and manifest.json")
    c.add_argument("--shard-images", type=int, metavar="N",
                   help="cut IDX and .npy files of uint8 images into shards of N images (otherwise one shard a file)")
    c.add_argument("--model", help="model name or .bbm file (default: the best for each shard)")
    c.add_argument("--method", choices=["bits-back", "zstd", "xz", "stored"], help="force a method")
    c.add_argument("--chunk", type=int, default=0, metavar="N", help="images per chunk inside a shard (0: about 2^20 samples)")
    cluster_options(c)
    d = sub.add_parser("decompress", help="decode the shards of a manifest back into files")
    d.add_argument("manifest", help="manifest.json written by compress")
    d.add_argument("--out", required=True, metavar="DIR", help="folder for the files")
    cluster_options(d)
    return p


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (raised, printed by main), not argparse's usage text and exit 2."""

    def error(self, message):
        raise ValueError(message)


def main(argv=None):
    parser = _parser()
    client = cluster = None
    try:
        args = parser.parse_args(argv)
        if args.workers is not None and args.workers < 1:
            raise ValueError("--workers must be at least 1")
        if args.threads < 1:
            raise ValueError("--threads must be at least 1")
        if args.command == "compress":
            if args.shard_images is not None and args.shard_images < 1:
                raise ValueError("--shard-images must be at least 1")
            # The inputs and outputs are checked before a cluster starts (and again by compress_files).
            sources, shards, options = _plan_files(args.inputs, args.shard_images, args.model, args.method, args.chunk)
            _check_outputs(sources, shards, options, args.out, args.force)
            client, cluster = _client(args)
            r = compress_files(args.inputs, args.out, client=client, shard_images=args.shard_images, model=args.model,
                               method=args.method, chunk=args.chunk, threads=args.threads, force=args.force)
            if not args.quiet:
                mb = r.input_bytes / 1e6
                print(f"bbans.dask: {len(r.manifest['shards'])} shards ({r.coded} coded, {r.kept} kept), "
                      f"{r.input_bytes} -> {r.output_bytes} bytes, {r.seconds:.2f} s "
                      f"({mb / r.seconds:.2f} MB/s, {r.images / r.seconds:.0f} images/s); {r.path}", file=sys.stderr)
        else:
            m = _load_manifest(args.manifest)
            for src in m["sources"]:
                t = os.path.join(args.out, _output_name(src))
                if os.path.lexists(t) and not args.force:
                    raise FileExistsError(f"{t} exists (use -f to overwrite)")
            start = time.perf_counter()
            client, cluster = _client(args)
            paths = decompress(args.manifest, args.out, client=client, threads=args.threads, force=args.force)
            if not args.quiet:
                print(f"bbans.dask: {len(m['shards'])} shards checked and decoded to {len(paths)} files in "
                      f"{time.perf_counter() - start:.2f} s", file=sys.stderr)
        return 0
    except KeyboardInterrupt:
        print("bbans.dask: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # one line, whatever failed
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"bbans.dask: {message}", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    # Run as bbans.dask (not __main__), so that the tasks' functions pickle by a name the
    # workers can import.
    from bbans import dask as _module

    sys.exit(_module.main())
