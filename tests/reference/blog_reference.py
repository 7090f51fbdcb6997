#!/usr/bin/python3
"""Independent reference: the blog post's own numpy code, run verbatim.

Produces tests/reference/fixtures/blog_trajectories.txt: the blog's 100 data
points, the random initial weights, and for each of the seven blog runs (gd,
newton_lr0.1, newton_lr1, momentum, adagrad, rmsprop, adam; 50 epochs each,
every run starting from a fresh copy of the initial weights) the weight
trajectory (epochs 0..50), the per-epoch loss recorded before each update
(epochs 0..49) and the final gradient.  Every float is written with
float.hex() so the C++ tests can parse it exactly with strtod.

The functions and classes below are copied from
/work/shared/reference/optimizers-blog.md as faithfully as possible; the only
changes are einops.repeat(v, 'i -> i 1') -> v.reshape(-1, 1) and
einops.rearrange(g, 'i j -> (i j)') -> g.reshape(-1) (einops is not needed).
As in the post, the trainers read the module globals `data` and `weights`, and
each optimizer updates that same `weights` array in place.

Regenerate (from the repository root):
    /usr/bin/python3 tests/reference/blog_reference.py
(optionally: ... blog_reference.py OUTPUT_PATH).  Output is deterministic.
"""

import os
import sys

import numpy as np


# ---------------------------------------------------------------------------
# Blog code (verbatim apart from the einops replacements)
# ---------------------------------------------------------------------------

def linear(X, w):
    return X @ w


def linear_grad(X, w):
    return X


def mse_loss(predictions, labels):
    return np.mean((predictions - labels)**2)


def mse_loss_grad(predictions, labels):
    return 2 * (predictions - labels) / len(predictions)


class LinearModelTrainer:
    def __init__(self, data, optimizer, num_epochs):
        self.data = data
        self.optimizer = optimizer
        self.epochs = num_epochs
        self.losses = []
        self.final_grad = None

    def train(self):
        for i in range(self.epochs):
            X = data['X']
            y = data['y']
            # Make predictions
            preds = linear(X, weights)
            # Calculate loss
            loss = mse_loss(preds, y)
            self.losses.append(loss)
            # Backpropagate
            mse_grad = mse_loss_grad(preds, y).reshape(-1, 1)  # einops.repeat(.., 'i -> i 1')
            lin_grad = linear_grad(X, weights)
            grad = mse_grad.transpose() @ lin_grad
            # Update weights
            self.optimizer.step(grad)
            # Keep track of final grad for observability
            self.final_grad = grad

    def get_grad(self):
        if self.final_grad is not None:
            return self.final_grad
        else:
            print("No gradients computed yet.")

    def get_losses(self):
        return self.losses


class GradientDescentOptimizer:
    def __init__(self, weights, lr):
        self.lr = lr
        self.weights = weights
        self.iterated_weights = [weights.copy()]

    def step(self, grad):
        # Update weights
        self.weights -= (self.lr * grad).reshape(-1)  # einops.rearrange(.., 'i j -> (i j)')
        # Keep track of weights for visualization
        self.iterated_weights.append(self.weights.copy())

    def get_weights(self):
        return self.iterated_weights


def mse_linear_hessian(predictions, labels, X):
    x = X[:, 0]
    n = len(x)
    mat = np.array([[x*x, x],
                    [x, np.ones_like(x)]])
    return 2 * np.mean(mat, axis=2)


class NewtonOptimizer:
    def __init__(self, weights, lr):
        self.lr = lr
        self.weights = weights
        self.iterated_weights = [weights.copy()]

    def step(self, grad, hessian):
        # Update weights
        grad = grad.reshape(-1, 1)
        hessian_inv = np.linalg.inv(hessian)
        self.weights -= self.lr * (hessian_inv @ grad).reshape(-1)
        # Keep track of weights for visualization
        self.iterated_weights.append(self.weights.copy())

    def get_weights(self):
        return self.iterated_weights


class LinearModelTrainerWithHessian:
    def __init__(self, data, optimizer, num_epochs):
        self.data = data
        self.optimizer = optimizer
        self.epochs = num_epochs
        self.losses = []
        self.final_grad = None

    def train(self):
        for i in range(self.epochs):
            X = data['X']
            y = data['y']
            # Make predictions
            preds = linear(X, weights)
            # Calculate loss
            loss = mse_loss(preds, y)
            self.losses.append(loss)
            # Backpropagate
            mse_grad = mse_loss_grad(preds, y).reshape(-1, 1)  # einops.repeat(.., 'i -> i 1')
            lin_grad = linear_grad(X, weights)
            grad = mse_grad.transpose() @ lin_grad
            hessian = mse_linear_hessian(preds, y, X)  # needed for Newton's method
            # Update weights
            self.optimizer.step(grad, hessian)
            # Keep track of final grad for observability
            self.final_grad = grad

    def get_grad(self):
        if self.final_grad is not None:
            return self.final_grad
        else:
            print("No gradients computed yet.")

    def get_losses(self):
        return self.losses


class MomentumOptimizer:
    def __init__(self, weights, lr, decay_rate):
        self.lr = lr
        self.decay_rate = decay_rate
        self.weights = weights
        self.iterated_weights = [weights.copy()]
        self.grad_sum = np.zeros_like(weights)

    def step(self, grad):
        # Update weights
        self.grad_sum = self.decay_rate * self.grad_sum + grad
        self.weights -= (self.lr * self.grad_sum).reshape(-1)  # einops.rearrange
        # Keep track of weights for visualization
        self.iterated_weights.append(self.weights.copy())

    def get_weights(self):
        return self.iterated_weights


class AdaGradOptimizer:
    def __init__(self, weights, lr):
        self.lr = lr
        self.weights = weights
        self.iterated_weights = [weights.copy()]
        self.grad_sq_sum = np.zeros_like(weights).reshape(1, -1)

    def step(self, grad):
        # Update weights
        self.grad_sq_sum += grad**2
        self.weights -= (self.lr * grad/np.sqrt(self.grad_sq_sum)).reshape(-1)  # einops.rearrange
        # Keep track of weights for visualization
        self.iterated_weights.append(self.weights.copy())

    def get_weights(self):
        return self.iterated_weights


class RMSPropOptimizer:
    def __init__(self, weights, lr, decay_rate):
        self.lr = lr
        self.weights = weights
        self.iterated_weights = [weights.copy()]
        self.grad_sq_sum = np.zeros_like(weights).reshape(1, -1)
        self.decay_rate = decay_rate

    def step(self, grad):
        # Update weights
        self.grad_sq_sum = (1 - self.decay_rate) * grad**2 + self.decay_rate * self.grad_sq_sum
        self.weights -= (self.lr * grad/np.sqrt(self.grad_sq_sum)).reshape(-1)  # einops.rearrange
        # Keep track of weights for visualization
        self.iterated_weights.append(self.weights.copy())

    def get_weights(self):
        return self.iterated_weights


class AdamOptimizer:
    def __init__(self, weights, lr, decay_rate_grad, decay_rate_grad_sq):
        self.lr = lr
        self.weights = weights
        self.iterated_weights = [weights.copy()]
        self.grad_sq_sum = np.zeros_like(weights).reshape(1, -1)
        self.decay_rate_grad = decay_rate_grad
        self.decay_rate_grad_sq = decay_rate_grad_sq
        self.grad_sum = np.zeros_like(weights).reshape(1, -1)
        self.grad_sq_sum = np.zeros_like(weights).reshape(1, -1)

    def step(self, grad):
        # Update weights
        self.grad_sum = (1 - self.decay_rate_grad) * grad + self.decay_rate_grad * self.grad_sum
        self.grad_sq_sum = (1 - self.decay_rate_grad_sq) * grad**2 + self.decay_rate_grad_sq * self.grad_sq_sum
        self.weights -= (self.lr * self.grad_sum/np.sqrt(self.grad_sq_sum)).reshape(-1)  # einops.rearrange
        # Keep track of weights for visualization
        self.iterated_weights.append(self.weights.copy())

    def get_weights(self):
        return self.iterated_weights


# ---------------------------------------------------------------------------
# Data, exactly as in the blog
# ---------------------------------------------------------------------------

params = np.array([5, 2])
num_samples = 100
x = np.linspace(-10, 10, num_samples)
np.random.seed(5)
noise = np.random.normal(0, 3, num_samples)
y = params[0]*x + params[1] + noise

X = np.stack((x, np.ones_like(x)), axis=1)
data = {'X': X, 'y': y}
# random initialization
initial_weights = np.random.rand(2)
weights = initial_weights.copy()

NUM_EPOCHS = 50


def fail(msg):
    sys.stderr.write("blog_reference.py: " + msg + "\n")
    sys.exit(1)


if np.array2string(initial_weights) != "[0.58937388 0.91473434]":
    fail("initial weights %s differ from the blog's [0.58937388 0.91473434]"
         % np.array2string(initial_weights))


# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------

# name, optimizer factory, trainer class, lr, extra hyper-parameters
RUNS = [
    ("gd", lambda w: GradientDescentOptimizer(w, lr=0.01),
     LinearModelTrainer, 0.01, []),
    ("newton_lr0.1", lambda w: NewtonOptimizer(w, lr=0.1),
     LinearModelTrainerWithHessian, 0.1, []),
    ("newton_lr1", lambda w: NewtonOptimizer(w, lr=1.0),
     LinearModelTrainerWithHessian, 1.0, []),
    ("momentum", lambda w: MomentumOptimizer(w, lr=0.01, decay_rate=0.5),
     LinearModelTrainer, 0.01, [("decay_rate", 0.5)]),
    ("adagrad", lambda w: AdaGradOptimizer(w, lr=0.5),
     LinearModelTrainer, 0.5, []),
    ("rmsprop", lambda w: RMSPropOptimizer(w, lr=0.1, decay_rate=0.99),
     LinearModelTrainer, 0.1, [("decay_rate", 0.99)]),
    ("adam", lambda w: AdamOptimizer(w, lr=0.1, decay_rate_grad=0.9, decay_rate_grad_sq=0.99),
     LinearModelTrainer, 0.1, [("decay_rate_grad", 0.9), ("decay_rate_grad_sq", 0.99)]),
]


def hx(v):
    return float(v).hex()


def main():
    global weights
    here = os.path.dirname(os.path.abspath(__file__))
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "fixtures", "blog_trajectories.txt")

    lines = [
        "# generated by tests/reference/blog_reference.py \u2014 do not edit",
        "# regenerate: /usr/bin/python3 tests/reference/blog_reference.py",
        "# numpy %s; the blog's own numpy code (see docstring); 50 epochs per run," % np.__version__,
        "# each run starting from a fresh copy of the initial weights.",
        "# floats are float.hex(); parse with strtod.",
        "# data <i> <x_i> <y_i>  (model y ~ w0*x + w1; X = [x, 1])",
    ]
    for i in range(num_samples):
        lines.append("data %d %s %s" % (i, hx(x[i]), hx(y[i])))
    lines.append("# init: %s" % np.array2string(initial_weights))
    lines.append("init %s %s" % (hx(initial_weights[0]), hx(initial_weights[1])))

    for name, make_opt, trainer_cls, lr, extra in RUNS:
        weights = initial_weights.copy()
        optimizer = make_opt(weights)
        trainer = trainer_cls(data, optimizer, num_epochs=NUM_EPOCHS)
        trainer.train()

        traj = optimizer.get_weights()
        losses = trainer.get_losses()
        grad = trainer.get_grad().reshape(-1)
        assert len(traj) == NUM_EPOCHS + 1 and len(losses) == NUM_EPOCHS
        # the optimizer must have updated the global array in place
        assert np.array_equal(traj[-1], weights)

        if name == "gd":
            got = np.array2string(weights)
            if got != "[5.00396765 1.77940355]":
                fail("GD final weights %s differ from the blog's [5.00396765 1.77940355]" % got)
            if abs(grad[1] - (-1.01068650)) > 5e-9 or abs(grad[0]) > 1e-12:
                fail("GD final grad %s differs from the blog's [[2.42e-14 -1.01068650e+00]]"
                     % np.array2string(grad))

        lines.append("")
        extra_txt = " ".join("%s=%r" % (k, v) for k, v in extra)
        lines.append(("# run %s: lr=%r %s" % (name, lr, extra_txt)).rstrip())
        lines.append("# final weights %s, final grad %s, final loss %r"
                     % (np.array2string(weights), np.array2string(grad), float(losses[-1])))
        lines.append(" ".join(["run", name, hx(lr)] + [hx(v) for _, v in extra]))
        for e, w in enumerate(traj):
            lines.append("w %s %d %s %s" % (name, e, hx(w[0]), hx(w[1])))
        for e, l in enumerate(losses):
            lines.append("loss %s %d %s" % (name, e, hx(l)))
        lines.append("grad %s %s %s" % (name, hx(grad[0]), hx(grad[1])))

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, out_path)
    print("wrote %s" % out_path)


if __name__ == "__main__":
    main()
