"""Arrays in and out without copies: numpy and DLPack memory shared with descent tensors
(writes through one are read through the other), the array's lifetime held by the tensor,
and clear errors for what cannot be shared. The reference is numpy itself."""

import gc
import sys
import weakref

import numpy as np
import pytest

import descent
from conftest import cuda_or_skip


def test_from_numpy_shares_memory_both_ways(rng):
    a = rng.normal(size=(4, 3))
    t = descent.from_numpy(a)
    assert t.shape == (4, 3) and t.dtype == "f64" and t.device == "cpu"
    assert t.data_ptr() == a.ctypes.data
    a[1, 2] = 42.0                      # numpy writes, descent reads
    assert t[1, 2].item() == 42.0
    t.fill_(-1.0)                       # descent writes, numpy reads
    assert np.all(a == -1.0)


def test_float32_stays_float32():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = descent.from_numpy(a)
    assert t.dtype == "f32"
    np.testing.assert_array_equal(t.numpy(), a)


def test_numpy_view_of_a_tensor_shares_memory():
    t = descent.zeros(2, 3, dtype="f64")
    v = t.numpy()
    assert v.dtype == np.float64 and v.shape == (2, 3)
    v[0, 0] = 7.0
    assert t[0, 0].item() == 7.0
    t.fill_(3.0)
    assert np.all(v == 3.0)
    assert np.asarray(t).ctypes.data == v.ctypes.data


def test_views_export_their_strides():
    base = descent.tensor(np.arange(12.0).reshape(3, 4))
    col = base[:, 1]                    # a strided view
    assert not col.is_contiguous()
    np.testing.assert_array_equal(col.numpy(), np.arange(12.0).reshape(3, 4)[:, 1])
    np.testing.assert_array_equal(base.T.numpy(), np.arange(12.0).reshape(3, 4).T)


def test_dlpack_round_trip_with_numpy(rng):
    a = rng.normal(size=(5, 2))
    t = descent.from_dlpack(a)          # numpy is a DLPack producer
    assert t.data_ptr() == a.ctypes.data
    b = np.from_dlpack(t)               # and a consumer of descent's __dlpack__
    assert b.ctypes.data == a.ctypes.data
    t.fill_(5.0)                        # (numpy 1.x marks DLPack imports read-only)
    assert np.all(b == 5.0) and np.all(a == 5.0)
    assert t.__dlpack_device__() == (1, 0)


def test_the_tensor_keeps_the_array_alive():
    class Owner(np.ndarray):
        pass

    a = np.arange(1000.0).view(Owner)
    alive = weakref.ref(a)
    t = descent.from_numpy(a)
    del a
    gc.collect()
    assert alive() is not None          # held by the tensor
    assert t.sum().item() == sum(range(1000))
    del t
    gc.collect()
    assert alive() is None              # and released with it


def test_an_exported_view_keeps_the_tensor_alive():
    t = descent.arange(10.0, dtype="f64")
    v = t.numpy()
    del t
    gc.collect()
    np.testing.assert_array_equal(v, np.arange(10.0))


def test_wrong_dtype_is_a_type_error():
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        descent.from_numpy(np.arange(4))
    with pytest.raises(TypeError, match="float32 or float64, got bool8|float32 or float64, got bool"):
        descent.from_numpy(np.zeros(3, dtype=bool))


def test_non_contiguous_is_a_value_error():
    with pytest.raises(ValueError, match="C-contiguous"):
        descent.from_numpy(np.zeros((3, 4)).T)
    with pytest.raises(ValueError, match="C-contiguous"):
        descent.from_numpy(np.zeros(10)[::2])


def test_read_only_is_a_value_error():
    a = np.zeros(3)
    a.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        descent.from_numpy(a)


def test_not_an_array_is_a_type_error():
    with pytest.raises(TypeError, match=r"numpy array or a DLPack producer \(torch, cupy, jax\), got list"):
        descent.from_numpy([1.0, 2.0])


def test_numpy_of_a_tensor_that_requires_grad_is_refused():
    w = descent.zeros(3, dtype="f64", requires_grad=True)
    with pytest.raises(TypeError, match="detach"):
        w.numpy()
    np.testing.assert_array_equal(w.detach().numpy(), np.zeros(3))


def test_torch_cpu_tensors_are_shared():
    torch = pytest.importorskip("torch")
    x = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    t = descent.from_dlpack(x)
    x[0, 1] = 9.0
    assert t[0, 1].item() == 9.0
    y = torch.from_dlpack(t)
    y[1, 2] = -4.0
    assert x[1, 2].item() == -4.0


@pytest.mark.cuda
def test_cuda_arrays_are_shared():
    cuda_or_skip()
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    x = torch.arange(8, dtype=torch.float32, device="cuda").reshape(2, 4)
    torch.cuda.synchronize()            # descent reads on its own stream (python/README.md)
    t = descent.from_dlpack(x)
    assert t.device == "cuda:0" and t.data_ptr() == x.data_ptr()
    t.fill_(2.0)
    torch.cuda.synchronize()
    assert float(x.sum()) == 16.0
    back = torch.from_dlpack(descent.ones(3, device="cuda"))
    assert back.device.type == "cuda" and float(back.sum()) == 3.0


@pytest.mark.cuda
def test_cuda_tensor_numpy_is_refused_without_a_copy():
    cuda_or_skip()
    t = descent.ones(2, device="cuda")
    with pytest.raises(TypeError, match="cpu"):
        t.numpy()
    np.testing.assert_array_equal(t.cpu().numpy(), np.ones(2, dtype=np.float32))


def test_refcount_is_balanced():
    a = np.zeros(100)
    before = sys.getrefcount(a)
    for _ in range(100):
        t = descent.from_numpy(a)
        del t
    gc.collect()
    assert sys.getrefcount(a) == before
