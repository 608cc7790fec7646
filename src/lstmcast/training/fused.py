"""The fused kernel: each member's LSTM layers run as one ``nn.LSTM`` (oneDNN on the CPU, cuDNN on a GPU).

Why: for tens of units over batches of hundreds, a Python loop over time steps of our own cell
(about 10 autograd ops per step and layer) loses to ``nn.LSTM``'s single fused call forward and
backward (ANCHORS.md: 6.9 ms against 16.7 ms per step at 64 units, batch 256, look-back 24).

Exactness: each member's ``nn.LSTM`` starts from that member's parameters of our cell (same gate
order; weights transposed). ``nn.LSTM`` has two biases whose gradients are equal; training both
would move the sum twice as fast as our single bias does under Adam, so ``bias_hh`` stays zero and
frozen and ``bias_ih`` plays our bias. The dense head stays member-stacked (one ``baddbmm``).
Tested against the torch kernel to float tolerance: forward, gradients and training.

Scope (declared in ``engines.TABLES``): vanilla, stacked and vector networks with tanh and no
dropout; any optimizer and loss (all elementwise or per member).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from lstmcast.models.zoo import RecurrentStack
from lstmcast.training.torch_kernel import nonfinite_members
from lstmcast.training.kernel import Kernel, TrainConfig, make_optimizer, member_loss


class FusedKernel(Kernel):
    """One ``nn.LSTM`` per member plus a member-stacked head, trained with ``make_optimizer``'s optimizer."""

    name = "fused"

    def __init__(self, net: RecurrentStack, config: TrainConfig):
        self.net = net
        self.loss_kind = config.loss
        self.stateful = config.stateful
        cfg = net.config
        w = net.rnns[0].cell.w_x
        self.lstms = [
            nn.LSTM(cfg.n_features, cfg.units, num_layers=len(net.rnns), batch_first=True,
                    device=w.device, dtype=w.dtype)
            for _ in range(net.members)
        ]
        self.head_w = nn.Parameter(net.head.weight.detach().clone())  # (members, units, outputs)
        self.head_b = nn.Parameter(net.head.bias.detach().clone())  # (members, 1, outputs)
        with torch.no_grad():
            for k, lstm in enumerate(self.lstms):
                for i, rnn in enumerate(net.rnns):
                    getattr(lstm, f"weight_ih_l{i}").copy_(rnn.cell.w_x[k].T)
                    getattr(lstm, f"weight_hh_l{i}").copy_(rnn.cell.w_h[k].T)
                    getattr(lstm, f"bias_ih_l{i}").copy_(rnn.cell.bias[k, 0])
                    getattr(lstm, f"bias_hh_l{i}").zero_().requires_grad_(False)
        self.params = [p for lstm in self.lstms for p in lstm.parameters() if p.requires_grad]
        self.params += [self.head_w, self.head_b]
        self.opt = make_optimizer(config, self.params)

    def forward(self, xb: Tensor, state, want_state: bool = True) -> tuple[Tensor, list | None]:
        """Return (predictions (members, batch, n_out, n_targets), new state in the network's format or None)."""
        last, hs, cs = [], [], []
        for k, lstm in enumerate(self.lstms):
            init = None if state is None else (
                torch.stack([h[k] for h, _ in state]), torch.stack([c[k] for _, c in state]))  # (layers, batch, units)
            out, (h, c) = lstm(xb[k], init)  # out: (batch, steps, units)
            last.append(out[:, -1])
            hs.append(h)
            cs.append(c)
        top = torch.stack(last)  # (members, batch, units)
        pred = torch.baddbmm(self.head_b, top, self.head_w)  # (members, batch, outputs)
        if not want_state:  # regrouping costs two stacks per step; only a stateful loop needs it
            return self.net.head_shape(pred), None
        h_all, c_all = torch.stack(hs, dim=1), torch.stack(cs, dim=1)  # (layers, members, batch, units)
        return self.net.head_shape(pred), [(h_all[i], c_all[i]) for i in range(h_all.shape[0])]

    def forward_loss(self, xb: Tensor, yb: Tensor, state):
        pred, new_state = self.forward(xb, state, want_state=self.stateful)
        loss = member_loss(pred, yb, self.loss_kind)  # (members,)
        carry = [(h.detach(), c.detach()) for h, c in new_state] if self.stateful else None
        return loss.detach(), carry, loss

    def backward(self, tape: Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        tape.sum().backward()

    def update(self) -> None:
        self.opt.step()

    def sync(self) -> None:
        with torch.no_grad():
            for k, lstm in enumerate(self.lstms):
                for i, rnn in enumerate(self.net.rnns):
                    rnn.cell.w_x[k] = getattr(lstm, f"weight_ih_l{i}").T
                    rnn.cell.w_h[k] = getattr(lstm, f"weight_hh_l{i}").T
                    rnn.cell.bias[k, 0] = getattr(lstm, f"bias_ih_l{i}")
            self.net.head.weight.copy_(self.head_w)
            self.net.head.bias.copy_(self.head_b)

    def nonfinite_members(self) -> np.ndarray:
        bad = nonfinite_members([self.head_w, self.head_b], self.net.members)
        for k, lstm in enumerate(self.lstms):
            bad[k] |= not all(torch.isfinite(p).all() for p in lstm.parameters())
        return bad

