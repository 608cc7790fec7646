"""The reference kernel: PyTorch autograd over our own member-stacked cell (every architecture).

Plain and readable: the other kernels are tested against this one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from lstmcast.training.kernel import Kernel, TrainConfig, detach_state, make_optimizer, member_loss, seed_generators


class TorchKernel(Kernel):
    """Forward, backward and optimizer step of ``net`` itself, with autograd."""

    name = "torch"

    def __init__(self, net: nn.Module, config: TrainConfig, seeds: list[int]):
        self.net = net
        self.loss_kind = config.loss
        self.opt = make_optimizer(config, net.parameters())
        for module in net.modules():  # each member draws its own dropout masks from its seed
            if hasattr(module, "generators"):
                module.generators = seed_generators(seeds, salt=2)

    def forward_loss(self, xb: Tensor, yb: Tensor, state):
        """Return (each member's loss, detached; the new state, detached; the graph for backward)."""
        self.net.train()
        pred, new_state = self.net(xb, state)
        loss = member_loss(pred, yb, self.loss_kind)  # (members,)
        return loss.detach(), detach_state(new_state), loss

    def backward(self, tape: Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        tape.sum().backward()  # member k's gradient is its own loss's: the members share no parameter

    def update(self) -> None:
        self.opt.step()

    def nonfinite_members(self) -> np.ndarray:
        return nonfinite_members(self.net.parameters(), self.net.members)


def nonfinite_members(params, members: int) -> np.ndarray:
    """Return (members,) bool: True where any of the member-leading ``params`` is NaN or infinite."""
    bad = torch.zeros(members, dtype=torch.bool)
    for p in params:
        bad |= ~torch.isfinite(p.detach()).flatten(1).all(dim=1).cpu()
    return bad.numpy()
