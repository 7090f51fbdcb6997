"""The optimizers, with torch.optim's names and keyword arguments (SGD, Adam, AdamW, Adagrad,
RMSprop, LBFGS), descent's Newton and NewtonCG, and make_optimizer (the CLI's factory with the
blog's or torch's presets)."""

from ._descent import (  # noqa: F401
    Optimizer, SGD, Adam, Adagrad, RMSprop, LBFGS, Newton, NewtonCG,
    make_optimizer, optimizer_names, OptimizerConfig, blog_configs, blog_extra_configs,
)


class AdamW(Adam):
    """torch.optim.AdamW: Adam whose weight decay is decoupled from the gradient (the
    weights shrink by lr * weight_decay before the Adam step), weight_decay 1e-2 by default."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, decoupled_weight_decay=True)
