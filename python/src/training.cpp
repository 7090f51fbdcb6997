// Models, the training loop, data sets, checkpoints, metrics and model files from Python.
// train() releases the GIL for the whole run; its callbacks (on_epoch, on_warning) take it
// back for the Python call only.
#include <nanobind/stl/function.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <filesystem>

#include "binding.hpp"

namespace descent::python {

namespace {

Loss loss_arg(const std::string& name) {
    if (name == "mse") return Loss::mse;
    if (name == "bce" || name == "bce_with_logits") return Loss::bce_with_logits;
    if (name == "ce" || name == "cross_entropy") return Loss::cross_entropy;
    throw Error("loss: expected 'mse', 'bce_with_logits' or 'cross_entropy', got '" + name + "'");
}

OnesColumn ones_arg(const std::string& s) {
    if (s == "stored") return OnesColumn::stored;
    if (s == "implicit") return OnesColumn::implicit;
    if (s == "automatic") return OnesColumn::automatic;
    throw Error("ones: expected 'stored', 'implicit' or 'automatic', got '" + s + "'");
}

nb::dict regression_dict(const RegressionMetrics& r) {
    nb::dict d;
    d["rows"] = r.rows;
    d["mse"] = r.mse;
    d["rmse"] = r.rmse;
    d["mae"] = r.mae;
    d["r2"] = r.r2;
    return d;
}

nb::dict classification_dict(const ClassificationMetrics& c) {
    nb::dict d;
    d["rows"] = c.rows;
    d["accuracy"] = c.accuracy;
    d["log_loss"] = c.log_loss;
    d["support"] = c.support;
    d["predicted"] = c.predicted;
    d["correct"] = c.correct;
    return d;
}

// A checkpoint file of this run: the optimizer's parameters and state, the losses so far.
void write_checkpoint(const std::string& path, const optim::Optimizer& optimizer,
                      const TrainResult& so_far) {
    save_checkpoint(path, make_checkpoint(optimizer, static_cast<std::int64_t>(so_far.losses.size()),
                                          so_far.losses, so_far.weights));
}

}  // namespace

void bind_training(nb::module_& m) {
    // --- models
    nb::class_<Model>(m, "Model", "A model: parameters() and forward(X) (also model(X)).")
        .def("parameters", &Model::parameters)
        .def("forward", &Model::forward, nb::arg("X"), nb::call_guard<nb::gil_scoped_release>())
        .def("__call__", &Model::forward, nb::arg("X"), nb::call_guard<nb::gil_scoped_release>())
        .def_prop_ro("name", &Model::name);
    nb::class_<LinearModel, Model>(m, "LinearModel",
        "pred = X W: W (d) for regression and logistic, (d, k) for softmax; with "
        "fit_intercept W has one more row, the intercept (X holds the features only).")
        .def(nb::init<Tensor, bool>(), nb::arg("weight"), nb::arg("fit_intercept") = false)
        .def_prop_ro("weight", &LinearModel::weight)
        .def_prop_ro("fit_intercept", &LinearModel::fit_intercept);
    nb::class_<nn::Sequential, Model>(m, "Sequential",
        "Linear layers and activations in order (torch.nn.Sequential's parameter names).")
        .def("named_parameters", &nn::Sequential::named_parameters)
        .def_prop_ro("inputs", &nn::Sequential::inputs)
        .def_prop_ro("outputs", &nn::Sequential::outputs);
    m.def("mlp", [](const std::vector<std::int64_t>& sizes, const std::string& activation,
                    std::uint32_t seed, std::optional<std::string> dtype,
                    std::optional<std::string> device) {
            return std::make_shared<nn::Sequential>(nn::mlp(sizes, nn::parse_activation(activation),
                                                            seed, dtype_arg(dtype, DType::f64),
                                                            device_arg(device)));
        }, nb::arg("sizes"), nb::arg("activation") = "tanh", nb::arg("seed") = 0,
        nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none(),
        "Linear(sizes[0], sizes[1]), activation, ..., Linear(.., sizes[-1]), initialised as "
        "torch.nn.Linear from RandomState(seed).");

    // --- the training loop
    nb::class_<TrainResult>(m, "TrainResult", "What train() returns: losses, trajectory, final weights.")
        .def_ro("losses", &TrainResult::losses, "losses[e]: the loss before update e")
        .def_ro("weights", &TrainResult::weights, "the trajectory (record_weights)")
        .def_ro("final_weights", &TrainResult::final_weights)
        .def_ro("divergence", &TrainResult::divergence)
        .def_ro("stopped", &TrainResult::stopped);
    m.def("train", [](const Model& model, const std::string& loss, const Tensor& X,
                      const Tensor& y, optim::Optimizer& optimizer, std::int64_t epochs,
                      std::int64_t batch_size, bool shuffle, std::uint64_t shuffle_seed,
                      bool record_weights, std::int64_t sync_every, bool cuda_graph,
                      const std::string& on_divergence, std::optional<nb::callable> on_epoch,
                      std::optional<std::string> lr_schedule, bool lr_per_batch,
                      std::optional<std::string> checkpoint, std::int64_t checkpoint_every,
                      bool resume) {
            TrainOptions o;
            o.epochs = epochs;
            o.batch_size = batch_size;
            o.shuffle = shuffle;
            o.shuffle_seed = shuffle_seed;
            o.record_weights = record_weights;
            o.sync_every = sync_every;
            o.cuda_graph = cuda_graph;
            if (on_divergence == "stop") o.on_divergence = OnDivergence::stop;
            else if (on_divergence == "warn") o.on_divergence = OnDivergence::warn;
            else throw Error("train: on_divergence is 'stop' or 'warn', got '" + on_divergence + "'");
            // Ctrl-C: the loop polls once per epoch, stops at the epoch's end, and the
            // KeyboardInterrupt is raised when train returns.
            o.stop_requested = [] {
                nb::gil_scoped_acquire gil;
                return PyErr_CheckSignals() != 0;
            };
            // OnDivergence::warn's message as a RuntimeWarning (an error under -W error).
            o.on_warning = [](const std::string& message) {
                nb::gil_scoped_acquire gil;
                if (PyErr_WarnEx(PyExc_RuntimeWarning, message.c_str(), 1) != 0)
                    throw nb::python_error();
            };
            if (on_epoch) {
                nb::callable f = *on_epoch;
                o.on_epoch = [f](std::int64_t epoch, double value) {
                    nb::gil_scoped_acquire gil;
                    f(epoch, value);
                };
            }
            std::shared_ptr<optim::LrScheduler> scheduler;
            if (lr_schedule) {
                if (!optimizer.has_lr())
                    throw Error("train: lr_schedule needs an optimizer with a learning rate; " +
                                optimizer.name() + " has none");
                scheduler = std::make_shared<optim::LrScheduler>(
                    optim::parse_lr_schedule(*lr_schedule), optimizer.lr());
                o.lr_at = [scheduler](std::int64_t k) { return scheduler->lr_at(k); };
                o.lr_per_batch = lr_per_batch;
            }
            TrainResult done;
            if (checkpoint) {
                const std::string path = *checkpoint;
                if (resume && std::filesystem::exists(path)) {
                    Checkpoint c = load_checkpoint(path);
                    restore_checkpoint(c, optimizer);
                    done.losses = c.losses;
                    done.weights = c.weights;
                    o.resume = &done;
                }
                o.checkpoint_every = checkpoint_every;
                const optim::Optimizer* opt = &optimizer;
                o.on_checkpoint = [path, opt](const TrainResult& so_far) {
                    write_checkpoint(path, *opt, so_far);
                };
            }
            TrainResult result;
            {
                nb::gil_scoped_release unlocked;
                result = train(model, loss_arg(loss), X, y, optimizer, o);
            }
            if (PyErr_Occurred()) throw nb::python_error();  // the signal's exception
            return result;
        }, nb::arg("model"), nb::arg("loss"), nb::arg("X"), nb::arg("y"), nb::arg("optimizer"),
        nb::arg("epochs") = 50, nb::arg("batch_size") = 0, nb::arg("shuffle") = false,
        nb::arg("shuffle_seed") = 0, nb::arg("record_weights") = false,
        nb::arg("sync_every") = 0, nb::arg("cuda_graph") = false,
        nb::arg("on_divergence") = "stop", nb::arg("on_epoch") = nb::none(),
        nb::arg("lr_schedule") = nb::none(), nb::arg("lr_per_batch") = false,
        nb::arg("checkpoint") = nb::none(), nb::arg("checkpoint_every") = 0,
        nb::arg("resume") = false,
        "The one training loop (descent::train): model.parameters() trained by `optimizer` "
        "on (X, y) with loss 'mse', 'bce_with_logits' or 'cross_entropy'. Full batch unless "
        "batch_size; on_epoch(epoch, loss); lr_schedule as descent train --lr-schedule; "
        "checkpoint: a file written every checkpoint_every epochs and at the end, and with "
        "resume=True read back first when it exists (the run continues bitwise).");
    m.def("model_loss", [](const Model& model, const std::string& loss, const Tensor& X,
                           const Tensor& y) {
            nb::gil_scoped_release unlocked;
            return model_loss(model, loss_arg(loss), X, y);
        }, nb::arg("model"), nb::arg("loss"), nb::arg("X"), nb::arg("y"),
        "The loss of the model over (X, y) at its current parameters (no gradient).");

    // --- checkpoints (of an optimizer's parameters and state)
    nb::class_<Checkpoint>(m, "Checkpoint", "A checkpoint read back: epoch, parameters, losses, meta.")
        .def_ro("epoch", &Checkpoint::epoch)
        .def_ro("params", &Checkpoint::params)
        .def_ro("losses", &Checkpoint::losses)
        .def_ro("meta", &Checkpoint::meta);
    m.def("save_checkpoint", [](const std::string& path, const optim::Optimizer& optimizer,
                                std::int64_t epoch, std::vector<double> losses) {
            save_checkpoint(path, make_checkpoint(optimizer, epoch, std::move(losses)));
        }, nb::arg("path"), nb::arg("optimizer"), nb::arg("epoch") = 0,
        nb::arg("losses") = std::vector<double>{},
        "Writes the optimizer's parameters and state atomically (a crash leaves the old file).");
    m.def("load_checkpoint", &load_checkpoint, nb::arg("path"),
          "Reads and verifies a checkpoint (CRC-32C); a damaged file is refused.");
    m.def("restore_checkpoint", &restore_checkpoint, nb::arg("checkpoint"), nb::arg("optimizer"),
          "Copies the checkpoint's parameters into the optimizer's and loads its state (all "
          "checked first: a mismatch changes nothing).");

    // --- data
    nb::class_<Dataset>(m, "Dataset", "X (n, d) and y (n) as load_dataset reads them, with where they came from.")
        .def_ro("X", &Dataset::X)
        .def_ro("y", &Dataset::y)
        .def_ro("source", &Dataset::source)
        .def_ro("intercept", &Dataset::intercept)
        .def_ro("true_weights", &Dataset::true_weights)
        .def_ro("classes", &Dataset::classes)
        .def_ro("column_names", &Dataset::column_names)
        .def_prop_ro("implicit_intercept", [](const Dataset& d) { return implicit_intercept(d); });
    m.def("load_dataset", [](const std::string& spec, std::optional<std::string> dtype,
                             std::optional<std::string> device, bool intercept,
                             const std::string& ones, const std::string& delimiter,
                             std::optional<std::string> target, std::vector<std::string> features,
                             std::vector<std::string> drop) {
            LoadOptions o;
            o.dtype = dtype_arg(dtype, DType::f64);
            o.device = device_arg(device);
            o.intercept = intercept;
            o.ones = ones_arg(ones);
            if (delimiter.size() != 1) throw Error("load_dataset: delimiter is one character");
            o.delimiter = delimiter[0];
            if (target) o.columns.target = *target;
            o.columns.features = std::move(features);
            o.columns.drop = std::move(drop);
            nb::gil_scoped_release unlocked;
            return load_dataset(spec, o);
        }, nb::arg("spec"), nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none(),
        nb::arg("intercept") = true, nb::arg("ones") = "stored", nb::arg("delimiter") = ",",
        nb::arg("target") = nb::none(), nb::arg("features") = std::vector<std::string>{},
        nb::arg("drop") = std::vector<std::string>{},
        "'blog', 'synthetic:n=..,d=..[,noise=..][,seed=..]', 'synthetic-logistic:..', "
        "'synthetic-softmax:..', or a .csv/.tsv/.npy file (target last unless `target`), as "
        "descent train --data reads it.");
    m.def("blog_problem", [](std::optional<std::string> dtype, std::optional<std::string> device) {
            BlogProblem b = blog_problem(dtype_arg(dtype, DType::f64), device_arg(device));
            return nb::make_tuple(b.data, b.initial_weights);
        }, nb::arg("dtype") = nb::none(), nb::arg("device") = nb::none(),
        "The blog post's 100 points bit for bit, and its initial weights: (Dataset, [w0, w1]).");
    m.def("save_npy", &save_npy, nb::arg("path"), nb::arg("tensor"),
          "Writes a vector or matrix as an NPY file numpy reads back exactly (atomically).");

    // --- the blog's optimizer settings (descent blog)
    nb::class_<optim::OptimizerConfig>(m, "OptimizerConfig",
        "An optimizer's name, preset and options (the blog's runs); make(params) builds it.")
        .def_ro("name", &optim::OptimizerConfig::name)
        .def_prop_ro("preset", [](const optim::OptimizerConfig& c) {
            return std::string(optim::preset_name(c.preset));
        })
        .def_prop_ro("hyperparameters", [](const optim::OptimizerConfig& c) {
            return optim::effective_hyperparameters(c);
        })
        .def("make", [](const optim::OptimizerConfig& c, std::vector<Tensor> params) {
            return optim::make_optimizer(c, std::move(params));
        }, nb::arg("params"));
    m.def("blog_configs", &optim::blog_configs, "The blog post's seven runs (blog preset).");
    m.def("blog_extra_configs", &optim::blog_extra_configs,
          "The rows descent blog adds after the post's: newton-cg and lbfgs (strong Wolfe).");
    m.def("linear_least_squares", &linear_least_squares, nb::arg("X"), nb::arg("y"),
          "argmin_w mean((X w - y)^2) from the normal equations (X of full column rank).");

    // --- metrics (scikit-learn's definitions; figures bitwise for any thread count)
    m.def("regression_metrics", [](const Tensor& pred, const Tensor& y) {
            RegressionMetrics r;
            {
                nb::gil_scoped_release unlocked;
                r = regression_metrics(pred, y);
            }
            return regression_dict(r);
        }, nb::arg("pred"), nb::arg("y"), "mse, rmse, mae and r2 (sklearn's r2_score).");
    m.def("classification_metrics", [](const Tensor& logits, const Tensor& y,
                                       std::int64_t classes) {
            ClassificationMetrics c;
            {
                nb::gil_scoped_release unlocked;
                c = classification_metrics(logits, y, classes);
            }
            return classification_dict(c);
        }, nb::arg("logits"), nb::arg("y"), nb::arg("classes"),
        "accuracy, log_loss and per-class counts of logits (n) or (n, k) against labels "
        "0..classes-1 (scikit-learn's definitions).");

    // --- model files (descent train --save-model / descent predict)
    nb::class_<SavedModel>(m, "SavedModel",
        "A trained model from a model file (descent train --save-model): predict, "
        "predict_proba, decision_function.")
        .def_ro("kind", &SavedModel::kind)
        .def_prop_ro("loss", [](const SavedModel& s) { return std::string(loss_name(s.loss)); })
        .def_ro("intercept", &SavedModel::intercept)
        .def_ro("features", &SavedModel::features)
        .def_ro("classes", &SavedModel::classes)
        .def_ro("feature_names", &SavedModel::feature_names)
        .def_ro("params", &SavedModel::params)
        .def_ro("meta", &SavedModel::meta)
        .def("predict", [](const SavedModel& s, const Tensor& X) { return predict(s, X); },
             nb::arg("X"), nb::call_guard<nb::gil_scoped_release>())
        .def("predict_proba", [](const SavedModel& s, const Tensor& X) { return predict_proba(s, X); },
             nb::arg("X"), nb::call_guard<nb::gil_scoped_release>())
        .def("decision_function",
             [](const SavedModel& s, const Tensor& X) { return decision_function(s, X); },
             nb::arg("X"), nb::call_guard<nb::gil_scoped_release>());
    m.def("saved_model_of", [](const Model& model, const std::string& loss, bool ones_column_in_x) {
            return saved_model_of(model, loss_arg(loss), ones_column_in_x);
        }, nb::arg("model"), nb::arg("loss"), nb::arg("ones_column_in_x") = false,
        "A SavedModel of a trained LinearModel or mlp (copies of its parameters).");
    m.def("save_model", &save_model, nb::arg("path"), nb::arg("model"),
          "Writes a SavedModel atomically (the CLI's model file format).");
    m.def("load_model", &load_model, nb::arg("path"),
          "Reads and checks a model file (descent train --save-model).");
}

}  // namespace descent::python
