"""A tour of descent from Python: arrays shared with numpy, autodiff to second order, an
optimizer loop as in PyTorch, the fused training loop, and the scikit-learn-style estimators.
Run: python examples/python/quickstart.py   (after `pip install .`; the tests run it too)."""

import numpy as np

import descent

rng = np.random.default_rng(0)

# 1. numpy arrays become tensors without a copy: both name the same memory.
features = rng.normal(size=(1000, 3))
true_w = np.array([1.0, -2.0, 0.5])
target = features @ true_w + 0.3 + 0.01 * rng.normal(size=1000)
X = descent.from_numpy(features)
y = descent.from_numpy(target)
assert X.data_ptr() == features.ctypes.data

# 2. Autodiff with torch's names: a hand-written loop with Adam.
w = descent.zeros(3, dtype="f64", requires_grad=True)
b = descent.zeros(1, dtype="f64", requires_grad=True)
opt = descent.optim.Adam([w, b], lr=0.1)
for step in range(300):
    opt.zero_grad()
    loss = descent.mse_loss(X @ w + b, y)
    loss.backward()
    opt.step()
print(f"Adam, 300 steps: w = {np.round(w.detach().numpy(), 4)}, b = {b.item():.4f}, "
      f"loss = {loss.item():.3e}")

# 3. Second order: the Hessian of the loss, and a Newton step that lands on the optimum.
def loss_of(v):
    return descent.mse_loss(X @ v, y - 0.3)

w0 = descent.zeros(3, dtype="f64")
H = descent.hessian(loss_of, w0)                       # (3, 3) = 2/n XᵀX
g = descent.grad(loss_of(w0.requires_grad_()), w0)[0]
step = np.linalg.solve(H.numpy(), g.detach().numpy())
print("one Newton step from 0:", np.round(-step, 4))
v = descent.tensor([1.0, 0.0, 0.0])
print("H v =", np.round(descent.hvp(loss_of, w0.detach(), v).numpy(), 4))

# 4. The fused training loop (one pass over X per epoch, the GIL released while it runs).
w1 = descent.zeros(4, dtype="f64", requires_grad=True)        # 3 weights + the intercept
result = descent.train(descent.LinearModel(w1, fit_intercept=True), "mse", X, y,
                       descent.optim.Newton([w1]), epochs=2)
print("Newton in the fused loop: losses", [f"{l:.3e}" for l in result.losses],
      "weights", np.round(result.final_weights, 4))

# 5. scikit-learn's estimator API.
reg = descent.LinearRegression().fit(features, target)
print(f"LinearRegression: coef_ {np.round(reg.coef_, 4)}, intercept_ {reg.intercept_:.4f}, "
      f"R² {reg.score(features, target):.6f}")
labels = (features @ true_w > 0).astype(int)
clf = descent.LogisticRegression(epochs=3).fit(features, labels)
print(f"LogisticRegression: accuracy {clf.score(features, labels):.3f}")
net = descent.MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", lr=0.01, epochs=100,
                           random_state=0).fit(features, np.sin(features[:, 0]))
print(f"MLPRegressor: R² {net.score(features, np.sin(features[:, 0])):.4f}")

assert np.allclose(reg.coef_, true_w, atol=0.01) and abs(reg.intercept_ - 0.3) < 0.01
assert np.allclose(result.final_weights[:3], true_w, atol=0.01)
print("quickstart: ok")
