"""The binding's surface: Tensor metadata, factories, operators, indexing, ops and reductions
from Python, each compared with numpy on the same values; errors as Python exceptions
carrying descent's message; the GIL released inside long ops."""

import numpy as np
import pytest

import descent
from conftest import python_progress_during


def as_np(t):
    return t.detach().cpu().numpy()


def test_metadata_and_factories():
    t = descent.zeros(2, 3)
    assert t.shape == (2, 3) and t.ndim == 2 and t.numel() == 6 and len(t) == 2
    assert t.dtype == "f32" and t.device == "cpu" and not t.requires_grad and t.is_leaf
    assert descent.zeros((2, 3), dtype="f64").dtype == "f64"
    assert descent.ones(4, dtype="float64").dtype == "f64"
    np.testing.assert_array_equal(as_np(descent.full((2, 2), 1.5)), np.full((2, 2), 1.5))
    np.testing.assert_array_equal(as_np(descent.arange(5, dtype="f64")), np.arange(5.0))
    np.testing.assert_array_equal(as_np(descent.linspace(-1, 1, 5, dtype="f64")),
                                  np.linspace(-1, 1, 5))
    t = descent.tensor([[1, 2], [3, 4]])
    assert t.dtype == "f64" and t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert descent.tensor(np.ones(3, dtype=np.float32)).dtype == "f32"
    assert descent.tensor(2.5).shape == () and descent.tensor(2.5).item() == 2.5
    assert "shape=(2, 2)" in repr(t)


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3)
    copied, shared = descent.tensor(a), descent.from_numpy(a)
    a[0] = 1.0
    assert copied[0].item() == 0.0 and shared[0].item() == 1.0


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_binary_operators_broadcast_like_numpy(op, rng):
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(3,)) + 3.0
    ta, tb = descent.tensor(a), descent.tensor(b)
    expected = eval(f"a {op} b")
    np.testing.assert_allclose(as_np(eval(f"ta {op} tb")), expected, rtol=1e-15)
    np.testing.assert_allclose(as_np(eval(f"ta {op} 2.5")), eval(f"a {op} 2.5"), rtol=1e-15)
    np.testing.assert_allclose(as_np(eval(f"2.5 {op} tb")), eval(f"2.5 {op} b"), rtol=1e-15)


def test_unary_ops_and_matmul(rng):
    a = rng.uniform(0.5, 2.0, size=(3, 4))
    t = descent.tensor(a)
    for name, ref in [("exp", np.exp), ("log", np.log), ("sqrt", np.sqrt), ("tanh", np.tanh),
                      ("abs", np.abs), ("log1p", np.log1p), ("square", np.square)]:
        np.testing.assert_allclose(as_np(getattr(descent, name)(t)), ref(a), rtol=1e-14)
    np.testing.assert_allclose(as_np(descent.sigmoid(t)), 1 / (1 + np.exp(-a)), rtol=1e-14)
    np.testing.assert_allclose(as_np(-t), -a)
    np.testing.assert_allclose(as_np(t ** 3), a ** 3, rtol=1e-14)
    np.testing.assert_allclose(as_np(descent.clamp(t, min=1.0)), np.maximum(a, 1.0))
    b = rng.normal(size=(4, 2))
    np.testing.assert_allclose(as_np(t @ descent.tensor(b)), a @ b, rtol=1e-13)
    np.testing.assert_allclose(as_np(t.T), a.T)
    np.testing.assert_allclose(as_np(descent.relu(descent.tensor(a - 1.0))), np.maximum(a - 1.0, 0))


def test_comparisons_are_masks():
    a = descent.tensor([1.0, 2.0, 3.0])
    assert (a > 1.5).tolist() == [0.0, 1.0, 1.0]
    assert (a == descent.tensor([1.0, 0.0, 3.0])).tolist() == [1.0, 0.0, 1.0]
    assert descent.where(a > 1.5, a, descent.zeros(3, dtype="f64")).tolist() == [0.0, 2.0, 3.0]
    assert len({a, a}) == 1  # hashable by identity, as torch's tensors


def test_reductions_along_dims(rng):
    a = rng.normal(size=(3, 5))
    t = descent.tensor(a)
    for name in ["sum", "mean", "max", "min"]:
        np.testing.assert_allclose(getattr(t, name)().item(), getattr(a, name)(), rtol=1e-14)
        np.testing.assert_allclose(as_np(getattr(t, name)(dim=1)), getattr(a, name)(axis=1),
                                   rtol=1e-14)
        assert getattr(t, name)(dim=0, keepdim=True).shape == (1, 5)
    np.testing.assert_array_equal(as_np(t.argmax(dim=1)), a.argmax(axis=1))
    lse = np.log(np.exp(a).sum(axis=1))
    np.testing.assert_allclose(as_np(descent.logsumexp(t, 1)), lse, rtol=1e-14)
    sm = np.exp(a - lse[:, None])
    np.testing.assert_allclose(as_np(descent.softmax(t, 1)), sm, rtol=1e-13)


def test_indexing_gives_views():
    a = np.arange(12.0).reshape(3, 4)
    t = descent.tensor(a)
    np.testing.assert_array_equal(as_np(t[1]), a[1])
    np.testing.assert_array_equal(as_np(t[-1, 1:3]), a[-1, 1:3])
    np.testing.assert_array_equal(as_np(t[:, 2]), a[:, 2])
    row = t[0]
    row.fill_(-1.0)                     # a view: writes reach the base
    assert t[0, 3].item() == -1.0
    with pytest.raises(IndexError, match="out of bounds"):
        t[3]
    with pytest.raises(ValueError, match="step"):
        t[::2]


def test_shape_ops(rng):
    a = rng.normal(size=(2, 3, 4))
    t = descent.tensor(a)
    np.testing.assert_array_equal(as_np(t.reshape(6, 4)), a.reshape(6, 4))
    np.testing.assert_array_equal(as_np(t.reshape((4, -1))), a.reshape(4, -1))
    np.testing.assert_array_equal(as_np(t.permute(2, 0, 1)), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(as_np(t.unsqueeze(0)), a[None])
    np.testing.assert_array_equal(as_np(descent.cat([t, t], dim=1)), np.concatenate([a, a], 1))
    np.testing.assert_array_equal(as_np(descent.stack([t, t])), np.stack([a, a]))


def test_conversions():
    t = descent.tensor([1.0, 2.0])
    assert t.to(dtype="f32").dtype == "f32"
    assert t.float().dtype == "f32" and t.double().dtype == "f64"
    same = t.to(device="cpu")
    assert same.data_ptr() == t.data_ptr()      # nothing to do: the same tensor
    assert t.clone().data_ptr() != t.data_ptr()


def test_errors_carry_descents_message():
    a, b = descent.zeros(2, 3), descent.zeros(4, 5)
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        a @ b
    with pytest.raises(ValueError, match="f32.*f64|f64.*f32"):
        descent.zeros(3) + descent.zeros(3, dtype="f64")
    with pytest.raises(ValueError, match="device"):
        descent.zeros(3, device="tpu")
    with pytest.raises(ValueError, match="dtype"):
        descent.zeros(3, dtype="int8")
    with pytest.raises(TypeError):
        descent.exp("not a tensor")
    with pytest.raises(ValueError, match="ambiguous"):
        bool(descent.zeros(2))


def test_cuda_requests_without_a_device_fail_clearly():
    if descent.cuda_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises((ValueError, RuntimeError), match="cuda|CUDA"):
        descent.zeros(3, device="cuda")


def test_long_ops_release_the_gil():
    # A thread counting in Python makes progress while one large matmul runs (~0.1 s).
    a = descent.ones(1200, 1200, dtype="f64")
    assert python_progress_during(lambda: a @ a) > 100


def test_out_of_memory_is_a_memory_error():
    with pytest.raises(MemoryError, match="out of memory"):
        descent.empty(1 << 42, dtype="f64")    # 32 TiB


def test_numpy_operands_do_not_take_over():
    w = descent.ones(3, dtype="f64", requires_grad=True)
    r = np.float64(2.0) * w                     # Tensor.__rmul__, not numpy's multiply
    assert isinstance(r, descent.Tensor) and r.requires_grad
    with pytest.raises(TypeError):
        w * np.ones(3)                          # an array is not silently converted
    with pytest.raises(TypeError, match="detach"):
        np.asarray(w)                           # as numpy(): no silent detach


def test_array_protocol_honours_copy():
    t = descent.zeros(3, dtype="f64")
    shared, copied = t.__array__(), t.__array__(copy=True)
    t.fill_(1.0)
    assert shared.tolist() == [1.0, 1.0, 1.0] and copied.tolist() == [0.0, 0.0, 0.0]
    assert t.__array__(dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="copy=False"):
        t.__array__(dtype=np.float32, copy=False)


def test_in_place_arithmetic_writes_into_the_tensor():
    a = np.zeros(3)
    t = descent.from_numpy(a)
    same = t
    t += 1.0
    t *= descent.tensor([1.0, 2.0, 3.0])
    assert t is same and a.tolist() == [1.0, 2.0, 3.0]
    assert t.sub_(1.0) is t and a.tolist() == [0.0, 1.0, 2.0]
    w = descent.ones(2, dtype="f64", requires_grad=True)
    (w * w).sum().backward()
    with pytest.raises(ValueError, match="requires grad"):
        w -= 0.1 * w.grad                       # torch refuses it outside no_grad too
    with descent.no_grad():
        w -= 0.1 * w.grad
    assert w.requires_grad and w.detach().numpy().tolist() == [0.8, 0.8]


def test_scalar_conveniences():
    loss = descent.tensor(0.123456)
    assert f"{loss:.3f}" == "0.123" and int(descent.tensor(3.7)) == 3
    np.testing.assert_allclose(as_np(2.0 ** descent.tensor([1.0, 3.0])), [2.0, 8.0], rtol=1e-15)
    t = descent.tensor([1.0])
    assert descent.from_dlpack(t) is not None and descent.from_dlpack(t).data_ptr() == t.data_ptr()
