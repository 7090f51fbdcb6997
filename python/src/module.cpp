// descent._descent: the nanobind module behind `import descent` (python/descent/__init__.py
// arranges it into the package's namespaces). Errors: descent::Error becomes ValueError (bad
// arguments), Diverged and CudaError RuntimeError (a run that failed), OutOfMemory
// MemoryError, FileError the OSError subclass of its errno (FileNotFoundError for a missing
// file);
// the message is descent's own.
#include "binding.hpp"

#include <cerrno>

namespace descent::python {

Device device_arg(const std::optional<std::string>& text) {
    return text ? parse_device(*text) : Device::cpu();
}

DType dtype_arg(const std::optional<std::string>& text, DType fallback) {
    return text ? parse_dtype(*text) : fallback;
}

std::string text_arg(nb::handle h, const char* what) {
    if (!nb::isinstance<nb::str>(h))
        throw nb::type_error((std::string("descent: ") + what + " must be a str").c_str());
    return nb::str(h).c_str();
}

nb::object tensor_or_none(const Tensor& t) {
    return t.defined() ? nb::cast(t) : nb::none();
}

void bind_errors(nb::module_& m) {
    (void)m;
    nb::register_exception_translator([](const std::exception_ptr& p, void*) {
        try {
            std::rethrow_exception(p);
        } catch (const OutOfMemory& e) {
            PyErr_SetString(PyExc_MemoryError, e.what());
        } catch (const FileError& e) {
            // The subclass Python's OSError(errno, ...) would pick, with descent's message.
            PyObject* type = PyExc_OSError;
            switch (e.errno_value()) {
                case ENOENT: type = PyExc_FileNotFoundError; break;
                case EACCES:
                case EPERM: type = PyExc_PermissionError; break;
                case EISDIR: type = PyExc_IsADirectoryError; break;
                case EEXIST: type = PyExc_FileExistsError; break;
                default: break;
            }
            // descent's message as str(e), with OSError's errno set (strerror is left unset:
            // OSError's str() would then print it instead of the message).
            nb::object error = nb::steal(PyObject_CallFunction(type, "s", e.what()));
            if (error.is_valid() && e.errno_value() != 0)
                nb::setattr(error, "errno", nb::int_(e.errno_value()));
            if (error.is_valid()) PyErr_SetObject(type, error.ptr());
        } catch (const Diverged& e) {
            PyErr_SetString(PyExc_RuntimeError, e.what());
        } catch (const CudaError& e) {
            PyErr_SetString(PyExc_RuntimeError, e.what());
        } catch (const Error& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        }
    });
}

}  // namespace descent::python

NB_MODULE(_descent, m) {
    using namespace descent::python;
    m.doc() = "descent: reverse-mode autodiff, optimizers and training on the CPU and CUDA";
    m.attr("__version__") = DESCENT_VERSION_STRING;
    bind_errors(m);
    bind_tensor(m);
    bind_arrays(m);
    bind_ops(m);
    bind_autograd(m);
    bind_optim(m);
    bind_training(m);
}
