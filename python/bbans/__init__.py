"""bbans: lossless compression of image arrays by bits-back coding with ANS and a VAE.

    import numpy as np, bbans
    images = np.fromfile("digits.raw", np.uint8).reshape(-1, 28, 28)  # N x H x W (or N x H x W x C)
    data = bbans.compress(images)          # bytes of a .bbx archive; `bbans decompress` reads it too
    assert (bbans.decompress(data) == images).all()
    print(bbans.report(images)["total_bpd"], "bits per sample")

Arrays are uint8, N x H x W (grey) or N x H x W x C (C = 1..4 channels, interleaved), and
C-contiguous: they are coded in place, never copied (numpy.ascontiguousarray makes a copy
when needed). An N x H x W x 1 array comes back N x H x W: the archive records the channel
count, not the axis. The GIL is released while coding, so threads can code arrays in parallel.

Models are found as the bbans command finds them: in `model_dirs`, then the directories of
$BBANS_MODEL_DIR, then the models installed with this package (its models/ folder), then the
installed share/bbans/models, then the source tree's models/shipped (search_path() lists them).
Errors raise TypeError (not a uint8 numpy array), ValueError (bad shape or layout, damaged
archive, unknown model, a model that cannot code the images), FileNotFoundError/OSError (model
files) or RuntimeError (the model an archive needs is missing; training failed), with the
messages of the bbans command.
"""

import json
import os

from . import _bbans
from ._bbans import Model

__all__ = ["Model", "compress", "decompress", "compress_bytes", "decompress_bytes", "report", "load_model", "models", "search_path", "train"]
__version__ = _bbans.__version__

# The shipped models copied into the package by setup.py (absent in a build tree, where the
# source tree's models/shipped is on the search path instead).
_PACKAGE_MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")


def _dirs(model_dirs):
    if model_dirs is None:
        return []
    if isinstance(model_dirs, (str, bytes, os.PathLike)):
        model_dirs = [model_dirs]
    return [os.fsdecode(d) for d in model_dirs]


def compress(array, model=None, *, threads=0, chunk=0, method=None, model_dirs=None):
    """Compresses images to the bytes of a .bbx archive holding one image set.

    model: None (the best model on the search path for these images, or zstd/xz when they are
    smaller), a model name or file path, or a Model (then it must code the images).
    threads: 0 = all cores; the bytes do not depend on it. chunk: images per chunk (0: about
    2^20 samples each), as `bbans compress --chunk`. method: None (the smallest), or force one of
    "bits-back" (an error if no model codes the images), "zstd", "xz", "stored".

    The archive's chunks are byte for byte those `bbans compress --shape HxWxC` writes for the
    array's bytes (array.tobytes()) read from standard input; only the directory's entry
    differs: an image set without a name here, a file named "stdin" there (which, when zstd, xz
    or stored wins, also drops the images' shape: an image set always keeps it).
    """
    return _bbans.compress(array, model, threads, chunk, method or "", _dirs(model_dirs), [_PACKAGE_MODELS])


def decompress(data, model=None, *, threads=0, model_dirs=None):
    """The images of a .bbx archive (bytes-like) holding one set of images, as a new uint8
    array: N x H x W for grey, N x H x W x C otherwise. Reads what compress() writes and what
    `bbans compress` makes of IDX, PGM, PPM, PNG or raw (--shape) files. The model is found by
    the identity the archive records; model: a Model to try first."""
    return _bbans.decompress(data, model, threads, _dirs(model_dirs), [_PACKAGE_MODELS])


def compress_bytes(data, name="data", model=None, *, threads=0, chunk=0, method=None, model_dirs=None):
    """Compresses a file's content (bytes-like) to the bytes of a .bbx archive with one entry
    named `name`, as `bbans compress FILE` codes the file (without its mode and time): IDX, PGM,
    PPM and PNG files are recognized by content and their images coded by bits-back when a model
    codes them smaller; anything else gets the smallest of zstd, xz and stored. `bbans
    decompress` (or decompress_bytes) gives the bytes back exactly. Options as compress()."""
    return _bbans.compress_bytes(data, os.fsdecode(name), model, threads, chunk, method or "", _dirs(model_dirs),
                                 [_PACKAGE_MODELS])


def decompress_bytes(data, model=None, *, threads=0, model_dirs=None):
    """The content (bytes) of a .bbx archive with one entry of any kind: what compress_bytes,
    compress or `bbans compress FILE` writes. Every checksum is verified."""
    return _bbans.decompress_bytes(data, model, threads, _dirs(model_dirs), [_PACKAGE_MODELS])


def report(array, model=None, *, threads=0, model_dirs=None):
    """`bbans report --json` of the images: compressed and decompressed in memory, the rate
    next to the model's -ELBO, zstd -19 and xz -9e, with timings. A dict with the JSON's fields."""
    return json.loads(_bbans.report(array, model, threads, _dirs(model_dirs), [_PACKAGE_MODELS]))


def load_model(name_or_path, *, model_dirs=None):
    """A model by its name on the search path (see search_path()), or from a .bbm file."""
    return _bbans.load_model(os.fsdecode(name_or_path), _dirs(model_dirs), [_PACKAGE_MODELS])


def models(*, model_dirs=None):
    """The models on the search path, as `bbans models --json` lists them: dicts with name,
    rows, cols, channels, latent, neg_elbo_bpd (held-out), bytes and path."""
    return _bbans.models(_dirs(model_dirs), [_PACKAGE_MODELS])


def search_path(*, model_dirs=None):
    """The directories searched for models, in order (those that exist)."""
    return _bbans.search_path(_dirs(model_dirs), [_PACKAGE_MODELS])


def _pair(value, what):
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError(f"{what} must look like 32x32 or (32, 32), got {value!r}")
        return int(parts[0]), int(parts[1])
    if isinstance(value, int):
        return value, value
    rows, cols = value
    return int(rows), int(cols)


def train(array, test=None, *, epochs=50, latent=None, widths=None, tile=None, crops=None, test_crops=None,
          batch_size=None, learning_rate=None, seed=1, threads=0, calibration=512, description="", name="model",
          progress=None, head_hidden=None, head_layers=None, context=True, latent2=None, latent2_hidden=None,
          weight_decay=None, kl_warmup=None, free_bits=None, shift=None, head_skip=False, head_per_channel=False):
    """Trains a model on the images, as `bbans train` does, and returns it (Model.save writes it).

    test: held-out images (never trained on); None holds out the last tenth of `array`.
    epochs, latent (dimensions), widths (hidden width of encoder and decoder: an int, or a pair),
    batch_size, learning_rate, seed: as bbans train's options (None: its defaults).
    tile: train a tile model (e.g. 32 or (32, 32) or "32x32") on `crops` random crops of the
    images (`test_crops` of the held-out ones), which then codes images of any size and is the
    way to train on colour; without it the model codes grey images of the array's own shape.
    head_hidden, head_layers: the per-pixel head's width and hidden layers; context=False: the head
    does not see the causal neighbours (bbans train --no-context); head_skip=True: the head's last
    layer also reads its inputs, a linear path from the neighbours to the means (bbans train
    --head-skip); head_per_channel=True: each sample of a pixel (Y, Co, Cg) gets its own head
    (colour models only; bbans train --head-per-channel). latent2, latent2_hidden: a second
    latent layer (hierarchical bits-back). weight_decay, kl_warmup (steps), free_bits (per latent
    dimension), shift (pixels of translation augmentation; not with tile): as bbans train's options.
    progress: called with a dict after every 50 minibatches ({"event": "batch", ...}) and every
    epoch ({"event": "epoch", ..., "heldout_neg_elbo_bpd"}); returning False stops training
    (RuntimeError "training was stopped"); an exception it raises, or Ctrl-C, stops training
    and is raised from train().
    """
    if test is None:
        n = len(array)
        if n < 2:
            raise ValueError("training needs at least 2 images when test is None (the last tenth is held out)")
        k = max(1, n // 10)
        array, test = array[: n - k], array[n - k :]
    args = _bbans.TrainArgs()
    args.epochs = int(epochs)
    if args.epochs < 1:
        raise ValueError("epochs must be at least 1")
    if latent is not None:
        args.latent = int(latent)
    if widths is not None:
        enc, dec = _pair(widths, "widths")
        args.encoder_hidden, args.decoder_hidden = enc, dec
    if batch_size is not None:
        args.batch_size = int(batch_size)
    if learning_rate is not None:
        args.learning_rate = float(learning_rate)
    args.seed = int(seed)
    args.threads = int(threads)
    args.calibration = int(calibration)
    args.tile = _pair(tile, "tile")
    if crops is not None:
        args.crops = int(crops)
    if test_crops is not None:
        args.test_crops = int(test_crops)
    for key, value, kind in (("head_hidden", head_hidden, int), ("head_layers", head_layers, int),
                             ("latent2", latent2, int), ("latent2_hidden", latent2_hidden, int),
                             ("kl_warmup", kl_warmup, int), ("shift", shift, int),
                             ("weight_decay", weight_decay, float), ("free_bits", free_bits, float)):
        if value is not None:
            if kind(value) < 0:
                raise ValueError(f"{key} must not be negative, got {value}")
            setattr(args, key, kind(value))
    args.context = bool(context)
    args.head_skip = bool(head_skip)
    args.head_per_channel = bool(head_per_channel)
    args.description = description
    args.name = name
    return _bbans.train(array, test, args, progress)
