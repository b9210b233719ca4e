"""AID-FP-Lite against the same update written out by hand on a 2-parameter toy backbone.

Toy backbone w = (w1, w2). Training batch k has data (a, b, c) and three task losses
    L1 = (w1 - a)^2,  L2 = (w2 - b)^2,  L3 = (w1 w2 - c)^2,
whose Jacobian J (3 x 2) is written by hand below; the meta batch's primary loss is
    Lhat = (w1 + w2 - d)^2,  gradient 2 (w1 + w2 - d) (1, 1).
Since dL_aux/dw = J^T g with g = dM/dL (MELTR's input gradient), the identity-Hessian
hypergradient of eq. (11) is
    dL_primary/dphi - d/dphi [ g(phi) . (J v) ],   v = dL_primary/dw  (J v held fixed),
and with L_primary = Lhat + gamma |M - sum L| the direct term is gamma sign(M - sum L) dM/dphi
and v gains gamma sign(M - sum L) J^T (g - 1). A meta step over part of w keeps only that
part's columns of J (and entries of v).
"""

import json

import pytest
import torch

from mmdemo.models.meltr import MELTR, MELTRConfig, loss_weights
from training.aid_fp_lite import AIDFPLite, AIDFPLiteConfig, LossCombiner, MELTRRecorder

BATCHES = [(1.0, -0.5, 0.3), (0.6, 0.2, -0.4), (1.4, -1.0, 0.8)]
D = 0.7
ALPHA, BETA = 0.05, 0.1


def toy_losses(w: torch.Tensor, batch: tuple[float, float, float]) -> torch.Tensor:
    a, b, c = batch
    return torch.stack([(w[0] - a) ** 2, (w[1] - b) ** 2, (w[0] * w[1] - c) ** 2])


def toy_jacobian(w: torch.Tensor, batch: tuple[float, float, float]) -> torch.Tensor:
    a, b, c = batch
    w1, w2 = w.tolist()
    r = w1 * w2 - c
    return torch.tensor([[2 * (w1 - a), 0.0], [0.0, 2 * (w2 - b)], [2 * r * w2, 2 * r * w1]], dtype=torch.float64)


def primary(w: torch.Tensor) -> torch.Tensor:
    return (w.sum() - D) ** 2


def make_meltr(gamma: float) -> MELTR:
    torch.manual_seed(0)
    return MELTR(MELTRConfig(num_losses=3, dim=4, heads=2, ff_dim=8, scale_hidden=3, gamma=gamma)).double()


def input_gradient(meltr: MELTR, losses: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """g = dM/dL at ``losses`` (MELTR's own derivative, not the backbone's)."""
    x = losses.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(meltr(x), x, create_graph=create_graph)
    return g


def long_way(meltr: MELTR, w0: list[float], batches: list, gamma: float) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Algorithm 1 by hand: K plain steps of eq. (12), then eq. (13) with plain SGD."""
    w = torch.tensor(w0, dtype=torch.float64)
    for batch in batches:  # eq. (12): w <- w - alpha J^T g
        g = input_gradient(meltr, toy_losses(w, batch))
        w = w - ALPHA * toy_jacobian(w, batch).T @ g
    # the meta step's training losses: the last batch at the new w
    return w, meta_step_long_way(meltr, w, batches[-1], gamma, columns=[0, 1])


def meta_step_long_way(meltr: MELTR, w: torch.Tensor, batch: tuple, gamma: float, columns: list[int]) -> list[torch.Tensor]:
    """Eq. (13) with plain SGD, the hypergradient seeing only the parameters ``columns`` of w."""
    losses, J = toy_losses(w, batch), toy_jacobian(w, batch)[:, columns]
    phi = list(meltr.parameters())
    g = input_gradient(meltr, losses)
    sign = torch.sign(meltr(losses) - losses.sum()).item()
    v = 2 * (w.sum() - D) * torch.ones(len(columns), dtype=torch.float64) + gamma * sign * J.T @ (g - 1)  # dL_primary/dw
    u = (J @ v).detach()
    mixed = torch.autograd.grad(input_gradient(meltr, losses, create_graph=True) @ u, phi, allow_unused=True)
    direct = torch.autograd.grad(gamma * sign * meltr(losses), phi, allow_unused=True)
    new_phi = []
    for p, m, dr in zip(phi, mixed, direct):
        hyper = (dr if dr is not None else 0) - (m if m is not None else 0)
        new_phi.append((p - BETA * hyper).detach())
    return new_phi


def run_ours(meltr: MELTR, w0: list[float], batches: list, **kwargs) -> tuple[torch.Tensor, dict]:
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    config = AIDFPLiteConfig(backbone_lr=ALPHA, inner_steps=len(batches))
    update = AIDFPLite(meltr, config, meta_optimizer=torch.optim.SGD(meltr.parameters(), lr=BETA), **kwargs)
    closures = [lambda batch=batch: toy_losses(w, batch) for batch in batches]
    info = update.step([w], closures, lambda: primary(w))
    return w.detach(), info


@pytest.mark.parametrize("gamma, k", [(0.0, 1), (0.5, 1), (0.5, 3)])
def test_one_step_equals_the_long_way(gamma, k):
    batches = BATCHES[:k]
    expected_w, expected_phi = long_way(make_meltr(gamma), [0.2, 0.9], batches, gamma)
    meltr = make_meltr(gamma)
    before = [p.detach().clone() for p in meltr.parameters()]
    w, info = run_ours(meltr, [0.2, 0.9], batches)
    torch.testing.assert_close(w, expected_w, atol=1e-12, rtol=0)
    moved = 0.0
    for p, q, p0 in zip(meltr.parameters(), expected_phi, before):
        torch.testing.assert_close(p.detach(), q, atol=1e-12, rtol=0)
        moved += (p.detach() - p0).abs().sum().item()
    assert moved > 1e-6  # the meta step did something
    assert info["meta_primary"] == pytest.approx(primary(w).item(), rel=1e-12)  # evaluated at w after the K steps


@pytest.mark.parametrize("column", [0, 1])
def test_a_meta_step_over_part_of_w_sees_only_that_part(column):
    """``params`` a subset of w: the long way with J and dL_primary/dw cut to that subset's columns
    (w1 alone is not reached by L2, w2 alone not by L1: rows without a gradient)."""
    w = torch.tensor([0.6, -0.3], dtype=torch.float64)
    expected = meta_step_long_way(make_meltr(0.5), w, BATCHES[1], 0.5, columns=[column])
    meltr = make_meltr(0.5)
    parts = [w[0].clone().requires_grad_(True), w[1].clone().requires_grad_(True)]
    whole = torch.stack(parts)
    AIDFPLite(meltr, meta_optimizer=torch.optim.SGD(meltr.parameters(), lr=BETA)).meta_step(
        [parts[column]], toy_losses(whole, BATCHES[1]), primary(whole))
    for p, q in zip(meltr.parameters(), expected):
        torch.testing.assert_close(p.detach(), q, atol=1e-12, rtol=0)
    full = meta_step_long_way(make_meltr(0.5), w, BATCHES[1], 0.5, columns=[0, 1])
    assert max((a - b).abs().max().item() for a, b in zip(expected, full)) > 1e-6  # the subset changes the step


def test_the_direct_term_matters_when_gamma_is_positive():
    """Dropping dL_primary/dphi (as the release does) gives a different step: our test would see it."""
    _, with_reg = long_way(make_meltr(0.5), [0.2, 0.9], BATCHES[:1], 0.5)
    _, without = long_way(make_meltr(0.0), [0.2, 0.9], BATCHES[:1], 0.0)
    assert max((a - b).abs().max().item() for a, b in zip(with_reg, without)) > 1e-6


def test_backbone_optimizer_gets_the_same_gradient_and_leaves_meltr_alone():
    meltr_plain, meltr_opt = make_meltr(0.5), make_meltr(0.5)
    w_plain, _ = run_ours(meltr_plain, [0.2, 0.9], BATCHES)
    w = torch.tensor([0.2, 0.9], dtype=torch.float64, requires_grad=True)
    update = AIDFPLite(meltr_opt, AIDFPLiteConfig(backbone_lr=ALPHA, inner_steps=3),
                       meta_optimizer=torch.optim.SGD(meltr_opt.parameters(), lr=BETA),
                       backbone_optimizer=torch.optim.SGD([w], lr=ALPHA))
    for batch in BATCHES:
        update.inner_step([w], toy_losses(w, batch))
        assert all(p.grad is None for p in meltr_opt.parameters())  # inner steps never touch phi's grads
        assert w.grad is None
    update.meta_step([w], toy_losses(w, BATCHES[-1]), primary(w))
    torch.testing.assert_close(w.detach(), w_plain, atol=1e-12, rtol=0)
    for p, q in zip(meltr_opt.parameters(), meltr_plain.parameters()):
        torch.testing.assert_close(p, q, atol=1e-12, rtol=0)


def test_losses_stay_usable_after_the_meta_step():
    """The trainer recipe: meta step on the batch about to be trained on, then M(L).backward()."""
    meltr = make_meltr(0.5)
    w = torch.tensor([0.2, 0.9], dtype=torch.float64, requires_grad=True)
    losses = toy_losses(w, BATCHES[0])
    AIDFPLite(meltr, meta_optimizer=torch.optim.SGD(meltr.parameters(), lr=BETA)).meta_step([w], losses, primary(w))
    meltr(losses).backward()
    expected = toy_jacobian(w, BATCHES[0]).T @ loss_weights(meltr, losses)  # with the updated phi
    torch.testing.assert_close(w.grad, expected, atol=1e-12, rtol=0)


def test_defaults_and_k_check():
    config = AIDFPLiteConfig()
    assert (config.backbone_lr, config.meta_lr) == (3e-5, 1e-4)  # A.3
    update = AIDFPLite(make_meltr(0.1))
    assert isinstance(update.meta_optimizer, torch.optim.Adam)
    assert update.meta_optimizer.param_groups[0]["lr"] == 1e-4
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="K = 3"):
        update.step([w], [lambda: toy_losses(w, BATCHES[0])], lambda: primary(w))
    with pytest.raises(ValueError, match="inner_steps"):
        AIDFPLiteConfig(inner_steps=0)


def test_combiners():
    losses = torch.tensor([0.5, 2.0, 1.5], dtype=torch.float64)
    meltr = make_meltr(0.1)
    assert LossCombiner("mtl")(losses).item() == 4.0
    assert LossCombiner("primary", primary_index=1)(losses).item() == 2.0
    assert LossCombiner("meltr", meltr=meltr)(losses).item() == meltr(losses).item()
    assert loss_weights(LossCombiner("mtl"), losses).tolist() == [1.0, 1.0, 1.0]
    assert loss_weights(LossCombiner("primary", primary_index=2), losses).tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="unknown loss combiner"):
        LossCombiner("sum")
    with pytest.raises(ValueError, match="needs a MELTR"):
        LossCombiner("meltr")


def test_recorder_keeps_epoch_means_and_curves():
    recorder = MELTRRecorder(["caption", "mlm", "frames"], grid_points=3)
    meltr = make_meltr(0.1)
    steps = [torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64), torch.tensor([3.0, 0.0, 1.5], dtype=torch.float64)]
    for losses in steps:
        recorder.add(meltr, losses)
    recorder.end_epoch(0, meltr)
    expected = (loss_weights(meltr, steps[0]) + loss_weights(meltr, steps[1])) / 2
    assert recorder.weights[0] == pytest.approx(expected.tolist(), abs=1e-9)

    mtl = LossCombiner("mtl")
    recorder.add(mtl, steps[0])
    recorder.end_epoch(1, mtl)
    data = json.loads(json.dumps(recorder.to_dict()))  # JSON-able
    assert data["epochs"] == [0, 1] and data["tasks"] == ["caption", "mlm", "frames"]
    assert data["weights"][1] == [1.0, 1.0, 1.0]
    curves = data["curves"]
    assert curves["epoch"] == 1 and curves["anchor"] == [1.0, 2.0, 0.5]
    assert curves["grid"] == [0.0, 2.0, 4.0]  # 0 .. twice the largest mean loss
    assert curves["output"][2] == [3.0, 5.0, 7.0]  # MTL: the other losses' sum plus the swept one
    assert curves["weight"][0] == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="no steps"):
        recorder.end_epoch(2, mtl)
    with pytest.raises(ValueError, match="expected 3 losses"):
        recorder.add(mtl, torch.zeros(2))


def test_a_restored_record_follows_the_losses_onto_their_device():
    """load_state gives CPU sums (safetensors); a resumed GPU run adds GPU losses to them. The
    'meta' device stands in for the GPU, so that this runs anywhere."""
    recorder = MELTRRecorder(["caption", "mlm", "frames"])
    recorder.add(LossCombiner("mtl"), torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64))
    tensors, info = recorder.state()
    resumed = MELTRRecorder(["caption", "mlm", "frames"])
    resumed.load_state(tensors, json.loads(json.dumps(info)))
    resumed.add(LossCombiner("mtl"), torch.zeros(3, dtype=torch.float64, device="meta"))
    assert resumed.state()[0]["weight_sum"].device.type == "meta"
