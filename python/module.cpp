// bbans._bbans: the Python binding of the bbans library (include/bbans/bbans.hpp). The Python
// API users see is python/bbans/__init__.py, which adds defaults and the package's own model
// folder to the search path; this module does the work.
//
// Pixels: an input array is used in place (a span over its buffer): it must be a C-contiguous
// numpy array of uint8, N x H x W or N x H x W x C; anything else is refused with an error that
// says how to make one, never copied silently. A decoded array takes over the decoder's buffer
// (no copy). The GIL is released while models load, images code, reports measure and models train.
//
// Errors: the library returns them (bbans::Error, the CLI's messages); only this layer raises:
//   TypeError          not a numpy array, not uint8, not bytes-like
//   ValueError         bad rank, shape or layout; damaged or truncated archive bytes; no model of
//                      that name; a model that cannot code the images
//   FileNotFoundError  a model file path that does not exist (OSError: one that cannot be read or written)
//   RuntimeError       the model an archive needs is not available; training failed or was stopped
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bbans/bbans.hpp"

namespace py = pybind11;

namespace bbans::python {
namespace {

[[noreturn]] void raise(PyObject* type, const std::string& message) {
    PyErr_SetString(type, message.c_str());
    throw py::error_already_set();
}

// A problem finding or loading a model (Catalog::open, coding::load_model).
[[noreturn]] void raise_model_error(const Error& e) {
    const std::string& m = e.message;
    if (m.ends_with(": no such model file") || m.find(std::strerror(ENOENT)) != std::string::npos) raise(PyExc_FileNotFoundError, m);
    if (m.find(std::strerror(EACCES)) != std::string::npos || m.find("cannot read") != std::string::npos) raise(PyExc_OSError, m);
    raise(PyExc_ValueError, m);
}

void warn(const std::vector<std::string>& messages) {
    for (const std::string& m : messages)
        if (PyErr_WarnEx(PyExc_UserWarning, m.c_str(), 2) != 0) throw py::error_already_set();
}

unsigned threads_or_all(unsigned threads) {
    if (threads) return threads;
    const unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

// A model known to Python: loaded from the search path or a file (owner: its Catalog), or
// trained in this process (owner: the TrainedModel, which also has the record for its card).
struct Model {
    std::shared_ptr<const void> owner;
    const coding::CodingModel* model = nullptr;
    std::string name;
    std::optional<std::string> path;
    const coding::TrainingRecord* record = nullptr;
};

ModelSearch search_of(const std::vector<std::string>& model_dirs, const std::vector<std::string>& package_dirs) {
    return ModelSearch::standard(model_dirs, std::vector<std::filesystem::path>(package_dirs.begin(), package_dirs.end()));
}

// The images of a numpy array, in place.
struct Pixels {
    py::array array;  // keeps the buffer alive
    ImageView view;
};

Pixels pixels_of(const py::handle& obj) {
    if (!py::isinstance<py::array>(obj))
        raise(PyExc_TypeError, "expected a numpy array of uint8 images (N x H x W or N x H x W x C), got " +
                                   std::string(py::str(py::type::of(obj).attr("__name__"))));
    auto a = py::reinterpret_borrow<py::array>(obj);
    if (a.dtype().kind() != 'u' || a.itemsize() != 1)
        raise(PyExc_TypeError, "expected an array of dtype uint8 (8-bit samples), got " + std::string(py::str(a.dtype())) +
                                   " (convert with array.astype(numpy.uint8) if the values are 0..255)");
    if (a.ndim() != 3 && a.ndim() != 4)
        raise(PyExc_ValueError, "expected images as an array N x H x W (grey) or N x H x W x C (C channels, 1 to 4), got an array of rank " +
                                    std::to_string(a.ndim()) + (a.ndim() == 2 ? " (one image? use array[None])" : ""));
    if (!(a.flags() & py::array::c_style))
        raise(PyExc_ValueError,
              "the array is not C-contiguous (a transpose, or a slice with steps); bbans codes arrays in place: pass "
              "numpy.ascontiguousarray(array), which copies it");
    const auto dim = [&](py::ssize_t i) { return static_cast<std::uint64_t>(a.shape(i)); };
    const std::uint64_t n = dim(0), rows = dim(1), cols = dim(2), channels = a.ndim() == 4 ? dim(3) : 1;
    if (n == 0 || rows == 0 || cols == 0 || channels == 0) raise(PyExc_ValueError, "an image set needs at least one image of 1x1 or more");
    if (channels > 4) raise(PyExc_ValueError, "images must have 1 to 4 channels, not " + std::to_string(channels));
    if (rows > 65535 || cols > 65535) raise(PyExc_ValueError, "images larger than 65535 pixels a side are not supported");
    Pixels p{a, {}};
    p.view.count = n;
    p.view.rows = static_cast<std::uint32_t>(rows);
    p.view.cols = static_cast<std::uint32_t>(cols);
    p.view.channels = static_cast<std::uint32_t>(channels);
    p.view.samples = std::span(static_cast<const std::uint8_t*>(a.data()), static_cast<std::size_t>(a.nbytes()));
    return p;
}

// The candidates for compression: one Model, a name or path (then it must code the images, as
// with the CLI's --model), or the models on the search path (those that can code images of
// `channels` channels when that is known: the others are not read).
struct Candidates {
    std::optional<Catalog> catalog;
    std::vector<NamedModel> named;
    bool required = false;
    std::vector<std::string> warnings;
};

// Call without the GIL (it loads files). A Model is taken from `given`, read with the GIL held.
Expected<Candidates> candidates(const Model* given, const std::string& name, const ModelSearch& search,
                                std::optional<std::size_t> channels = std::nullopt) {
    Candidates c;
    if (given) {
        c.named.push_back({given->name, given->model});
        c.required = true;
        return c;
    }
    const bool on_demand = name.empty() && channels;
    auto cat = Catalog::open(name, search, on_demand ? Load::on_demand : Load::all);
    if (!cat) return cat.error();
    c.catalog = std::move(*cat);
    c.named = on_demand ? c.catalog->candidates_for(*channels) : c.catalog->models();
    c.required = !name.empty();
    c.warnings = c.catalog->warnings();
    return c;
}

struct ModelArg {
    const Model* model = nullptr;
    std::string name;
};
ModelArg model_arg(const py::object& model) {
    ModelArg m;
    if (model.is_none()) return m;
    if (py::isinstance<Model>(model)) m.model = model.cast<const Model*>();
    else if (py::isinstance<py::str>(model)) m.name = model.cast<std::string>();
    else if (py::hasattr(model, "__fspath__")) m.name = py::str(model.attr("__fspath__")()).cast<std::string>();
    else raise(PyExc_TypeError, "model must be None, a model name or file path, or a bbans.Model");
    if (!m.model && m.name.empty()) raise(PyExc_ValueError, "model must not be an empty string (None: the best model found)");
    return m;
}

// The options compress and compress_bytes share: --method, -T, --chunk.
CompressOptions compress_options(const std::string& method, unsigned threads, std::size_t chunk) {
    CompressOptions o;
    if (!method.empty()) {
        o.method = archive::method_from_string(method);
        if (!o.method) raise(PyExc_ValueError, "method must be one of stored, zstd, xz, bits-back; got '" + method + "'");
    }
    o.threads = threads_or_all(threads);
    o.chunk_images = chunk;
    return o;
}

py::bytes compress(const py::object& array, const py::object& model, unsigned threads, std::size_t chunk, const std::string& method,
                   const std::vector<std::string>& model_dirs, const std::vector<std::string>& package_dirs) {
    const Pixels px = pixels_of(array);
    const ModelArg m = model_arg(model);
    const ModelSearch search = search_of(model_dirs, package_dirs);
    CompressOptions o = compress_options(method, threads, chunk);
    std::optional<Expected<Candidates>> models;
    std::optional<Expected<std::vector<std::uint8_t>>> file;
    {
        py::gil_scoped_release nogil;
        models.emplace(candidates(m.model, m.name, search, px.view.channels));
        if (*models) {
            o.require_model = (*models)->required;
            file.emplace(compress_images(px.view, o, (*models)->named));
        }
    }
    if (!*models) raise_model_error(models->error());
    warn((*models)->warnings);
    if (!*file) raise(PyExc_ValueError, file->error().message);
    return py::bytes(reinterpret_cast<const char*>((*file)->data()), static_cast<py::ssize_t>((*file)->size()));
}

// Finds the model an archive needs as `bbans decompress` does: the given Model, else the model
// of the name the archive records (only that one is loaded), else every model on the search path.
class Resolver {
public:
    Resolver(const Model* given, ModelSearch search, std::string hint) : given_(given), search_(std::move(search)), hint_(std::move(hint)) {}
    Expected<const coding::CodingModel*> operator()(const archive::ModelId& id) {
        if (given_ && given_->model->identity() == id) return given_->model;
        if (!catalog_) {
            if (!hint_.empty()) {
                std::vector<std::string> ignored;
                const auto found = Catalog::scan(search_, ignored);
                for (const FoundModel& f : found)
                    if (f.name == hint_)
                        if (auto c = Catalog::open(hint_, search_)) catalog_ = std::move(*c);
            }
            if (!catalog_) {
                auto c = Catalog::open("", search_, Load::on_demand);
                if (!c) return c.error();
                catalog_ = std::move(*c);
            }
        }
        return catalog_->resolve(id);
    }
    std::vector<std::string> warnings() const { return catalog_ ? catalog_->warnings() : std::vector<std::string>{}; }

private:
    const Model* given_;
    ModelSearch search_;
    std::string hint_;
    std::optional<Catalog> catalog_;
};

// The bytes of a bytes-like object (bytes, bytearray, memoryview, a uint8 array), which must be
// contiguous; `info` keeps the buffer for as long as the span is used.
std::span<const std::uint8_t> bytes_of(const py::object& data, py::buffer_info& info, const char* what) {
    if (!PyObject_CheckBuffer(data.ptr()) || py::isinstance<py::str>(data)) raise(PyExc_TypeError, what);
    info = py::reinterpret_borrow<py::buffer>(data).request();
    py::ssize_t stride = info.itemsize;
    for (py::ssize_t i = info.ndim; i-- > 0; stride *= info.shape[static_cast<std::size_t>(i)])
        if (info.shape[static_cast<std::size_t>(i)] > 1 && info.strides[static_cast<std::size_t>(i)] != stride)
            raise(PyExc_ValueError, "the bytes must be contiguous (not a strided view)");
    return {static_cast<const std::uint8_t*>(info.ptr), static_cast<std::size_t>(info.size * info.itemsize)};
}

// The model name a one-entry archive records, to load only that model (as the CLI does).
std::string model_hint(std::span<const std::uint8_t> file) {
    archive::MemoryInput in(file);
    if (auto reader = ArchiveReader::open(in); reader && reader->entries().size() == 1 && reader->entries()[0].model)
        return reader->entries()[0].model->name;
    return {};
}

py::array decompress(const py::object& data, const py::object& model, unsigned threads, const std::vector<std::string>& model_dirs,
                     const std::vector<std::string>& package_dirs) {
    py::buffer_info info;
    const std::span<const std::uint8_t> file =
        bytes_of(data, info, "expected the bytes of a .bbx archive (bytes, bytearray, memoryview or a uint8 array)");
    const ModelArg m = model_arg(model);
    if (!m.name.empty()) raise(PyExc_TypeError, "decompress finds the model by the identity stored in the archive: pass a bbans.Model or None");
    const ModelSearch search = search_of(model_dirs, package_dirs);
    std::optional<Resolver> resolver;
    std::optional<Expected<ImageArray>> images;
    {
        py::gil_scoped_release nogil;
        resolver.emplace(m.model, search, model_hint(file));
        images.emplace(decompress_images(file, std::ref(*resolver), threads_or_all(threads)));
    }
    warn(resolver->warnings());
    if (!*images) {
        const std::string& msg = images->error().message;
        raise(msg.find("needs model") != std::string::npos ? PyExc_RuntimeError : PyExc_ValueError, msg);
    }
    ImageArray& a = **images;
    auto* samples = new std::vector<std::uint8_t>(std::move(a.samples));
    py::capsule owner(samples, [](void* p) { delete static_cast<std::vector<std::uint8_t>*>(p); });
    std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(a.count), static_cast<py::ssize_t>(a.rows), static_cast<py::ssize_t>(a.cols)};
    if (a.channels != 1) shape.push_back(static_cast<py::ssize_t>(a.channels));
    return py::array_t<std::uint8_t>(shape, samples->data(), owner);
}

// Any bytes (a file's content) as a one-entry archive, as `bbans compress` codes a file: IDX,
// PGM, PPM and PNG recognized by content, bits-back when a model codes them smaller, else the
// smallest of zstd, xz and stored. The entry is named `name`, without mode or time.
py::bytes compress_bytes(const py::object& data, const std::string& name, const py::object& model, unsigned threads, std::size_t chunk,
                         const std::string& method, const std::vector<std::string>& model_dirs, const std::vector<std::string>& package_dirs) {
    py::buffer_info info;
    const std::span<const std::uint8_t> input =
        bytes_of(data, info, "expected bytes-like data to compress (bytes, bytearray, memoryview or a uint8 array)");
    const ModelArg m = model_arg(model);
    const ModelSearch search = search_of(model_dirs, package_dirs);
    CompressOptions o = compress_options(method, threads, chunk);
    std::optional<Expected<Candidates>> models;
    std::optional<Expected<Compressed>> file;
    {
        py::gil_scoped_release nogil;
        models.emplace(candidates(m.model, m.name, search));
        if (*models) {
            o.require_model = (*models)->required;
            file.emplace(bbans::compress(input, o, (*models)->named, name.empty() ? std::string("data") : name));
        }
    }
    if (!*models) raise_model_error(models->error());
    warn((*models)->warnings);
    if (!*file) raise(PyExc_ValueError, file->error().message);
    const std::vector<std::uint8_t>& bytes = (*file)->file;
    return py::bytes(reinterpret_cast<const char*>(bytes.data()), static_cast<py::ssize_t>(bytes.size()));
}

// The content of a one-entry archive (any kind: what compress_bytes or `bbans compress FILE`
// writes), every checksum verified.
py::bytes decompress_bytes(const py::object& data, const py::object& model, unsigned threads, const std::vector<std::string>& model_dirs,
                           const std::vector<std::string>& package_dirs) {
    py::buffer_info info;
    const std::span<const std::uint8_t> file =
        bytes_of(data, info, "expected the bytes of a .bbx archive (bytes, bytearray, memoryview or a uint8 array)");
    const ModelArg m = model_arg(model);
    if (!m.name.empty()) raise(PyExc_TypeError, "decompress finds the model by the identity stored in the archive: pass a bbans.Model or None");
    const ModelSearch search = search_of(model_dirs, package_dirs);
    std::optional<Resolver> resolver;
    std::optional<Expected<std::vector<std::uint8_t>>> bytes;
    {
        py::gil_scoped_release nogil;
        resolver.emplace(m.model, search, model_hint(file));
        bytes.emplace(bbans::decompress(file, std::ref(*resolver), {}, threads_or_all(threads)));
    }
    warn(resolver->warnings());
    if (!*bytes) {
        const std::string& msg = bytes->error().message;
        raise(msg.find("needs model") != std::string::npos ? PyExc_RuntimeError : PyExc_ValueError, msg);
    }
    return py::bytes(reinterpret_cast<const char*>((*bytes)->data()), static_cast<py::ssize_t>((*bytes)->size()));
}

std::string report(const py::object& array, const py::object& model, unsigned threads, const std::vector<std::string>& model_dirs,
                   const std::vector<std::string>& package_dirs) {
    const Pixels px = pixels_of(array);
    const ModelArg m = model_arg(model);
    const ModelSearch search = search_of(model_dirs, package_dirs);
    CompressOptions o;
    o.threads = threads_or_all(threads);
    std::optional<Expected<Candidates>> models;
    std::optional<Expected<report::Figures>> figures;
    {
        py::gil_scoped_release nogil;
        models.emplace(candidates(m.model, m.name, search, px.view.channels));
        if (*models) figures.emplace(report_images(px.view, o, (*models)->named));
    }
    if (!*models) raise_model_error(models->error());
    warn((*models)->warnings);
    if (!*figures) raise(PyExc_ValueError, figures->error().message);
    report::Figures& f = **figures;
    if (!f.exact) raise(PyExc_RuntimeError, "the round trip was not exact");
    f.input_name = "array";
    return report::json(f);
}

Model load_model(const std::string& name_or_path, const std::vector<std::string>& model_dirs, const std::vector<std::string>& package_dirs) {
    if (name_or_path.empty()) raise(PyExc_ValueError, "load_model needs a model name or a model file path");
    const ModelSearch search = search_of(model_dirs, package_dirs);
    std::optional<Expected<Catalog>> cat;
    {
        py::gil_scoped_release nogil;
        cat.emplace(Catalog::open(name_or_path, search));
    }
    if (!*cat) raise_model_error(cat->error());
    auto owner = std::make_shared<Catalog>(std::move(**cat));
    warn(owner->warnings());
    const NamedModel& nm = owner->models().front();
    Model m;
    m.model = nm.model;
    m.name = nm.name;
    m.path = owner->path_of(nm).string();
    m.owner = owner;
    return m;
}

py::list list_models(const std::vector<std::string>& model_dirs, const std::vector<std::string>& package_dirs) {
    const ModelSearch search = search_of(model_dirs, package_dirs);
    std::optional<Expected<Catalog>> cat;
    std::vector<ModelSummary> rows;
    std::vector<std::string> warnings;
    {
        py::gil_scoped_release nogil;
        cat.emplace(Catalog::open("", search));
        if (*cat) {
            warnings = (*cat)->warnings();
            for (const NamedModel& nm : (*cat)->models()) rows.push_back(summarize(nm.name, (*cat)->path_of(nm), *nm.model, warnings));
        }
    }
    if (!*cat) raise_model_error(cat->error());
    warn(warnings);
    py::list out;
    for (const ModelSummary& r : rows) {
        py::dict d;
        d["name"] = r.name;
        d["rows"] = r.rows;
        d["cols"] = r.cols;
        d["channels"] = r.channels;
        d["latent"] = r.latent;
        d["neg_elbo_bpd"] = r.neg_elbo_bpd ? py::object(py::float_(*r.neg_elbo_bpd)) : py::object(py::none());
        d["bytes"] = r.bytes ? py::object(py::int_(*r.bytes)) : py::object(py::none());
        d["path"] = r.path.string();
        out.append(d);
    }
    return out;
}

std::vector<std::string> search_path(const std::vector<std::string>& model_dirs, const std::vector<std::string>& package_dirs) {
    std::vector<std::string> dirs;
    for (const auto& d : search_of(model_dirs, package_dirs).dirs) dirs.push_back(d.string());
    return dirs;
}

// ---- training -----------------------------------------------------------------------------------

struct TrainArgs {
    std::uint32_t epochs = 0, latent = 0, encoder_hidden = 0, decoder_hidden = 0, batch_size = 0, threads = 0, calibration = 512;
    double learning_rate = 0;
    std::uint64_t seed = 1, crops = 0, test_crops = 0;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> tile;
    std::string description, name;
    // None: bbans train's default.
    std::optional<std::uint32_t> head_hidden, head_layers, latent2, latent2_hidden, kl_warmup, shift;
    std::optional<double> weight_decay, free_bits;
    bool context = true;
    bool head_skip = false;
    bool head_per_channel = false;
};

Model train(const py::object& train_array, const py::object& test_array, const TrainArgs& args, const py::object& progress) {
    const Pixels train_px = pixels_of(train_array);
    const Pixels test_px = pixels_of(test_array);
    TrainOptions o;
    if (args.epochs) o.train.epochs = args.epochs;
    if (args.latent) o.model.latent = args.latent;
    if (args.encoder_hidden) o.model.encoder_hidden = args.encoder_hidden;
    if (args.decoder_hidden) o.model.decoder_hidden = args.decoder_hidden;
    if (args.batch_size) o.train.batch_size = args.batch_size;
    if (args.learning_rate > 0) o.train.learning_rate = args.learning_rate;
    o.train.seed = args.seed;
    o.train.threads = threads_or_all(args.threads);
    o.calibration = args.calibration;
    if (args.crops) o.crops = args.crops;
    if (args.test_crops) o.test_crops = args.test_crops;
    if (args.tile) o.tile = io::Shape{args.tile->first, args.tile->second, train_px.view.channels};
    if (args.head_hidden) o.model.head_hidden = *args.head_hidden;
    if (args.head_layers) o.model.head_layers = *args.head_layers;
    if (args.latent2) o.model.latent2 = *args.latent2;
    if (args.latent2_hidden) o.model.latent2_hidden = *args.latent2_hidden;
    o.model.autoregressive = args.context;
    o.model.head_skip = args.head_skip;
    o.model.head_per_channel = args.head_per_channel;
    if (args.kl_warmup) o.train.kl_warmup_steps = *args.kl_warmup;
    if (args.shift) o.train.shift = *args.shift;
    if (args.weight_decay) o.train.weight_decay = *args.weight_decay;
    if (args.free_bits) o.train.free_bits = *args.free_bits;
    o.description = args.description;
    o.train.progress_every = progress.is_none() ? 0 : o.train.progress_every;

    // Python runs only with the GIL: every callback takes it. An exception in the callback, or
    // a signal (Ctrl-C: KeyboardInterrupt), stops training after the minibatch in progress and is
    // raised when train() returns; the callback returning False stops it too.
    std::optional<py::error_already_set> raised;
    bool asked_to_stop = false;
    auto call = [&](py::dict d) {
        if (raised || asked_to_stop) return;
        try {
            py::object r = progress(d);
            if (r.is(py::bool_(false))) asked_to_stop = true;
        } catch (py::error_already_set& e) {
            raised.emplace(std::move(e));
        }
    };
    models::TrainCallbacks cb;
    cb.should_stop = [&] {
        py::gil_scoped_acquire gil;
        if (!raised && PyErr_CheckSignals() != 0) raised.emplace();
        return raised.has_value() || asked_to_stop;
    };
    if (!progress.is_none()) {
        cb.on_progress = [&](const models::ProgressReport& p) {
            py::gil_scoped_acquire gil;
            py::dict d;
            d["event"] = "batch";
            d["epoch"] = p.epoch;
            d["epochs"] = p.epochs;
            d["batch"] = p.batch;
            d["batches"] = p.batches;
            d["loss_bpd"] = p.running_loss_bpd;
            d["images_per_second"] = p.images_per_second;
            d["eta_seconds"] = p.eta_seconds;
            call(d);
        };
        cb.on_epoch = [&](const models::EpochReport& e) {
            py::gil_scoped_acquire gil;
            py::dict d;
            d["event"] = "epoch";
            d["epoch"] = e.epoch;
            d["epochs"] = e.epochs;
            d["train_loss_bpd"] = e.train.loss_bpd;
            d["heldout_neg_elbo_bpd"] = e.heldout ? py::object(py::float_(e.heldout->neg_elbo_bpd)) : py::object(py::none());
            d["heldout_recon_bpd"] = e.heldout ? py::object(py::float_(e.heldout->recon_bpd)) : py::object(py::none());
            d["heldout_kl_bpd"] = e.heldout ? py::object(py::float_(e.heldout->kl_bpd)) : py::object(py::none());
            d["images_per_second"] = e.images_per_second;
            d["elapsed_seconds"] = e.elapsed_seconds;
            d["eta_seconds"] = e.eta_seconds;
            call(d);
            return !raised && !asked_to_stop;
        };
    }
    std::optional<Expected<TrainedModel>> trained;
    {
        py::gil_scoped_release nogil;
        trained.emplace(train_images(train_px.view, test_px.view, o, cb));
    }
    if (raised) {
        py::error_already_set e = std::move(*raised);
        raised.reset();
        throw e;
    }
    if (!*trained) raise(PyExc_RuntimeError, trained->error().message);
    auto owner = std::make_shared<TrainedModel>(std::move(**trained));
    Model m;
    m.model = &owner->model;
    m.record = &owner->record;
    m.name = args.name.empty() ? "model" : args.name;
    m.owner = owner;
    return m;
}

void save(const Model& m, const std::string& path, bool overwrite) {
    if (!m.record)
        raise(PyExc_ValueError, "only a model trained in this process is saved; " + m.name + " is already the file " + m.path.value_or("?"));
    std::optional<Status> ok;
    {
        py::gil_scoped_release nogil;
        ok.emplace(coding::save(*m.model, *m.record, path, overwrite));
    }
    if (!*ok) {
        const std::string& msg = ok->error().message;
        raise(msg.find("exists") != std::string::npos ? PyExc_FileExistsError : PyExc_OSError, msg);
    }
}

}  // namespace
}  // namespace bbans::python

PYBIND11_MODULE(_bbans, mod) {
    using namespace bbans::python;
    namespace b = bbans;
    mod.doc() = "bbans: bits-back ANS image compression (the C++ binding; use the bbans package)";
    mod.attr("__version__") = b::kVersion;

    py::class_<Model>(mod, "Model", "A coding model: loaded with bbans.load_model, or made by bbans.train")
        .def_readonly("name", &Model::name, "the name it is known by (its file's name without .bbm)")
        .def_readonly("path", &Model::path, "the file it was loaded from (None for a model trained in this process)")
        .def_property_readonly("identity", [](const Model& m) { return m.model->identity_hex(); },
                               "the content hash every .bbx file it codes records")
        .def_property_readonly("rows", [](const Model& m) { return m.model->file.config().rows; })
        .def_property_readonly("cols", [](const Model& m) { return m.model->file.config().cols; })
        .def_property_readonly("channels", [](const Model& m) { return m.model->file.config().image_channels; })
        .def_property_readonly("latent", [](const Model& m) { return m.model->file.config().latent; })
        .def_property_readonly(
            "heldout_neg_elbo_bpd",
            [](const Model& m) -> std::optional<double> {
                if (m.record) return m.record->integer_neg_elbo_bpd;
                const double v = m.model->file.info.heldout_neg_elbo_bpd;
                return v > 0 ? std::optional<double>(v) : std::nullopt;
            },
            "held-out -ELBO in bits/dim: of the integer model for a model trained here, else what the file records (float model)")
        .def("save", &save, py::arg("path"), py::arg("overwrite") = false,
             "write a trained model to PATH (NAME.bbm) and its card PATH.md, each atomically")
        .def("__repr__", [](const Model& m) {
            const auto& c = m.model->file.config();
            return "<bbans.Model " + m.name + " " + std::to_string(c.rows) + "x" + std::to_string(c.cols) + "x" +
                   std::to_string(c.image_channels) + " latent " + std::to_string(c.latent) + " " + m.model->identity_hex() + ">";
        });

    mod.def("compress", &compress, py::arg("array"), py::arg("model"), py::arg("threads"), py::arg("chunk"), py::arg("method"), py::arg("model_dirs"),
            py::arg("package_dirs"));
    mod.def("decompress", &decompress, py::arg("data"), py::arg("model"), py::arg("threads"), py::arg("model_dirs"), py::arg("package_dirs"));
    mod.def("compress_bytes", &compress_bytes, py::arg("data"), py::arg("name"), py::arg("model"), py::arg("threads"), py::arg("chunk"),
            py::arg("method"), py::arg("model_dirs"), py::arg("package_dirs"));
    mod.def("decompress_bytes", &decompress_bytes, py::arg("data"), py::arg("model"), py::arg("threads"), py::arg("model_dirs"),
            py::arg("package_dirs"));
    mod.def("report", &report, py::arg("array"), py::arg("model"), py::arg("threads"), py::arg("model_dirs"), py::arg("package_dirs"));
    mod.def("load_model", &load_model, py::arg("name_or_path"), py::arg("model_dirs"), py::arg("package_dirs"));
    mod.def("models", &list_models, py::arg("model_dirs"), py::arg("package_dirs"));
    mod.def("search_path", &search_path, py::arg("model_dirs"), py::arg("package_dirs"));

    py::class_<TrainArgs>(mod, "TrainArgs")
        .def(py::init<>())
        .def_readwrite("epochs", &TrainArgs::epochs)
        .def_readwrite("latent", &TrainArgs::latent)
        .def_readwrite("encoder_hidden", &TrainArgs::encoder_hidden)
        .def_readwrite("decoder_hidden", &TrainArgs::decoder_hidden)
        .def_readwrite("batch_size", &TrainArgs::batch_size)
        .def_readwrite("threads", &TrainArgs::threads)
        .def_readwrite("calibration", &TrainArgs::calibration)
        .def_readwrite("learning_rate", &TrainArgs::learning_rate)
        .def_readwrite("seed", &TrainArgs::seed)
        .def_readwrite("crops", &TrainArgs::crops)
        .def_readwrite("test_crops", &TrainArgs::test_crops)
        .def_readwrite("tile", &TrainArgs::tile)
        .def_readwrite("description", &TrainArgs::description)
        .def_readwrite("name", &TrainArgs::name)
        .def_readwrite("head_hidden", &TrainArgs::head_hidden)
        .def_readwrite("head_layers", &TrainArgs::head_layers)
        .def_readwrite("latent2", &TrainArgs::latent2)
        .def_readwrite("latent2_hidden", &TrainArgs::latent2_hidden)
        .def_readwrite("kl_warmup", &TrainArgs::kl_warmup)
        .def_readwrite("shift", &TrainArgs::shift)
        .def_readwrite("weight_decay", &TrainArgs::weight_decay)
        .def_readwrite("free_bits", &TrainArgs::free_bits)
        .def_readwrite("context", &TrainArgs::context)
        .def_readwrite("head_skip", &TrainArgs::head_skip)
        .def_readwrite("head_per_channel", &TrainArgs::head_per_channel);
    mod.def("train", &train, py::arg("array"), py::arg("test"), py::arg("args"), py::arg("progress"));
}
