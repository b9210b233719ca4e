import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from mmdemo.models.meltr import (
    MELTR,
    EncoderLayer,
    MELTRConfig,
    loss_weights,
    regularizer,
    sweep,
    transformation_curves,
)

TINY = MELTRConfig(num_losses=3, dim=4, heads=2, ff_dim=6, scale_hidden=3)


def tiny_meltr(seed: int = 0, config: MELTRConfig = TINY) -> MELTR:
    torch.manual_seed(seed)
    return MELTR(config).double()


def explicit_forward(meltr: MELTR, losses: list[float]) -> float:
    """MELTR's forward re-derived from section 4.1, one token and one head at a time, in plain Python."""
    c = meltr.config
    W = {name: p.detach().tolist() for name, p in meltr.named_parameters()}

    def linear(weight, bias, x):
        return [sum(w * v for w, v in zip(row, x)) + (bias[i] if bias is not None else 0.0) for i, row in enumerate(weight)]

    def layer_norm(x, weight, bias):
        mean = sum(x) / len(x)
        var = sum((v - mean) ** 2 for v in x) / len(x)
        return [(v - mean) / math.sqrt(var + 1e-5) * g + b for v, g, b in zip(x, weight, bias)]

    tokens = []
    for t, loss in enumerate(losses):  # eq. (5): SE(L_t) + TE(t)
        hidden = [max(0.0, v) for v in linear(W["scale.0.weight"], W["scale.0.bias"], [loss])]
        scale = linear(W["scale.2.weight"], W["scale.2.bias"], hidden)
        tokens.append([s + e for s, e in zip(scale, W["task.weight"][t])])
    d, dh = c.dim, c.dim // c.heads
    qkv = [linear(W["layers.0.qkv.weight"], W["layers.0.qkv.bias"], x) for x in tokens]
    mixed = [[0.0] * d for _ in tokens]
    for h in range(c.heads):
        cols = range(h * dh, (h + 1) * dh)
        for i in range(len(tokens)):
            scores = [sum(qkv[i][k] * qkv[j][d + k] for k in cols) / math.sqrt(dh) for j in range(len(tokens))]
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            for k in cols:
                mixed[i][k] = sum(w * qkv[j][2 * d + k] for j, w in enumerate(weights)) / sum(weights)
    out = []
    for x, m in zip(tokens, mixed):
        x = layer_norm([a + b for a, b in zip(x, linear(W["layers.0.proj.weight"], W["layers.0.proj.bias"], m))],
                       W["layers.0.norm1.weight"], W["layers.0.norm1.bias"])
        ff = [max(0.0, v) for v in linear(W["layers.0.ff.0.weight"], W["layers.0.ff.0.bias"], x)]
        ff = linear(W["layers.0.ff.2.weight"], W["layers.0.ff.2.bias"], ff)
        out.append(layer_norm([a + b for a, b in zip(x, ff)], W["layers.0.norm2.weight"], W["layers.0.norm2.bias"]))
    pooled = [sum(column) / len(out) for column in zip(*out)]  # mean over the T tokens
    return linear(W["head.weight"], None, pooled)[0]  # Linear(d, 1), no bias, no activation


def test_forward_matches_the_paper_written_out():
    meltr = tiny_meltr()
    for losses in ([0.5, 2.0, 1.25], [3.0, 0.0, 0.1]):
        assert meltr(torch.tensor(losses, dtype=torch.float64)).item() == pytest.approx(explicit_forward(meltr, losses), abs=1e-12)


def test_output_and_gradient_by_hand():
    """Attention and feed-forward outputs zeroed: M(L) = mean_t head . LN(LN(SE(L_t) + TE(t)))."""
    meltr = MELTR(MELTRConfig(num_losses=2, dim=2, heads=1, ff_dim=2, scale_hidden=1)).double()
    with torch.no_grad():
        for p in meltr.parameters():
            p.zero_()
        meltr.scale[0].weight.fill_(1.0)  # hidden = relu(L)
        meltr.scale[2].weight.copy_(torch.tensor([[1.0], [0.0]]))  # SE(L) = (relu(L), 0)
        meltr.task.weight.copy_(torch.tensor([[0.0, 1.0], [0.0, 0.5]]))  # TE(t) = (0, c_t)
        for norm in (meltr.layers[0].norm1, meltr.layers[0].norm2):
            norm.weight.fill_(1.0)
        meltr.head.weight.copy_(torch.tensor([[1.0, 0.0]]))
    eps = 1e-5

    def ln_first(a: float, b: float) -> float:  # first coordinate of LayerNorm((a, b))
        half = (a - b) / 2
        return half / math.sqrt(half**2 + eps)

    def token(loss: float, c: float) -> float:  # LN twice: (u, -u) -> u / sqrt(u^2 + eps)
        u = ln_first(max(loss, 0.0), c)
        return ln_first(u, -u)

    losses = torch.tensor([0.8, 0.2], dtype=torch.float64)
    expected = (token(0.8, 1.0) + token(0.2, 0.5)) / 2
    assert meltr(losses).item() == pytest.approx(expected, abs=1e-12)

    def d_token(loss: float, c: float) -> float:  # chain rule through both LayerNorms
        half = (loss - c) / 2
        u = half / math.sqrt(half**2 + eps)
        du = 0.5 * eps / (half**2 + eps) ** 1.5
        return eps / (u**2 + eps) ** 1.5 * du

    weights = loss_weights(meltr, losses)
    assert weights.tolist() == pytest.approx([d_token(0.8, 1.0) / 2, d_token(0.2, 0.5) / 2], rel=1e-9)
    assert loss_weights(meltr, torch.tensor([-1.0, 0.2], dtype=torch.float64))[0].item() == 0.0  # relu cut


def test_encoder_layer_is_pytorchs_post_norm_layer():
    torch.manual_seed(1)
    ours = EncoderLayer(8, 4, 16)
    theirs = nn.TransformerEncoderLayer(8, 4, 16, dropout=0.0, batch_first=True)
    with torch.no_grad():
        theirs.self_attn.in_proj_weight.copy_(ours.qkv.weight)
        theirs.self_attn.in_proj_bias.copy_(ours.qkv.bias)
        theirs.self_attn.out_proj.weight.copy_(ours.proj.weight)
        theirs.self_attn.out_proj.bias.copy_(ours.proj.bias)
        theirs.linear1.load_state_dict(ours.ff[0].state_dict())
        theirs.linear2.load_state_dict(ours.ff[2].state_dict())
        theirs.norm1.load_state_dict(ours.norm1.state_dict())
        theirs.norm2.load_state_dict(ours.norm2.state_dict())
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)


def test_loss_weights_match_finite_differences_and_batch():
    meltr = tiny_meltr(seed=3)
    losses = torch.tensor([[0.7, 1.9, 0.3], [2.5, 0.4, 1.1]], dtype=torch.float64)
    weights = loss_weights(meltr, losses)
    step = 1e-6
    for row in range(2):
        for t in range(3):
            up, down = losses[row].clone(), losses[row].clone()
            up[t] += step
            down[t] -= step
            numeric = (meltr(up) - meltr(down)).item() / (2 * step)
            assert weights[row, t].item() == pytest.approx(numeric, abs=1e-7)
    assert torch.allclose(meltr(losses), torch.stack([meltr(losses[0]), meltr(losses[1])]))
    assert weights.shape == losses.shape


def test_gradient_reaches_the_losses_and_the_meta_parameters():
    meltr = tiny_meltr(seed=4)
    w = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
    losses = torch.stack([(w**2).sum(), (w[0] - 1) ** 2, w.abs().sum()])
    meltr(losses).backward()
    expected = loss_weights(meltr, losses) @ torch.stack([2 * w, torch.stack([2 * (w[0] - 1), w[1] * 0]), w.sign()]).detach()
    torch.testing.assert_close(w.grad, expected)
    assert meltr.head.weight.grad.abs().sum() > 0 and meltr.task.weight.grad.abs().sum() > 0


def test_transformation_curves_sweep_one_loss():
    meltr = tiny_meltr(seed=5)
    losses = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    grid = [0.0, 0.5, 1.0, 4.0]
    points = sweep(losses, 1, grid)
    assert points[:, 0].tolist() == [0.5] * 4 and points[:, 2].tolist() == [2.0] * 4
    assert points[:, 1].tolist() == grid
    curve = transformation_curves(meltr, losses, 1, grid)
    for value, g in zip(curve.tolist(), grid):
        assert value == pytest.approx(meltr(torch.tensor([0.5, g, 2.0], dtype=torch.float64)).item(), abs=1e-12)
    assert curve[2].item() == pytest.approx(meltr(losses).item(), abs=1e-12)  # grid[2] = 1.0 is the anchor


def test_regularizer_is_distance_to_the_plain_sum():
    losses = torch.tensor([1.0, 2.0, 0.5])
    assert regularizer(torch.tensor(4.0), losses).item() == pytest.approx(0.5)
    assert regularizer(torch.tensor(2.5), losses).item() == pytest.approx(1.0)


def test_defaults_follow_appendix_a3_and_bad_inputs_are_refused():
    config = MELTRConfig()
    assert (config.layers, config.heads, config.ff_dim) == (1, 8, 512)
    assert sum(1 for _ in MELTR(config).layers) == 1
    with pytest.raises(ValueError, match="divisible"):
        MELTRConfig(dim=10, heads=8)
    with pytest.raises(ValueError, match="gamma"):
        MELTRConfig(gamma=-1.0)
    MELTRConfig(gamma=0.0)  # 0 is allowed: no regularizer
    with pytest.raises(ValueError, match="built for 3 losses"):
        tiny_meltr()(torch.zeros(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="init"):
        MELTRConfig(init="primary")


def test_sum_init_starts_as_the_scaled_plain_sum():
    """init "sum": M(L) = init_scale * sum L over the fitted box, so every loss weighs about init_scale
    (PyTorch's initialisation is far from it: weights near 0, of either sign)."""
    config = MELTRConfig(num_losses=3, dim=16, heads=2, ff_dim=32, scale_hidden=8, init="sum")
    meltr = tiny_meltr(0, config)
    losses = torch.rand(256, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * config.init_range
    target = config.init_scale * losses.sum(dim=-1)
    with torch.no_grad():
        error = (meltr(losses) - target).pow(2).mean().sqrt()
    assert error < 0.1 * target.std()
    weights = loss_weights(meltr, losses[:32])
    assert weights.mean().item() == pytest.approx(config.init_scale, rel=0.2)
    assert (weights > 0).all()
    random = loss_weights(tiny_meltr(0, replace(config, init="random")), losses[:32])
    assert random.abs().mean() < 0.5 * config.init_scale


def test_a_loss_stays_float32_under_bf16_autocast():
    """The trainer's bf16 autocast leaves MELTR alone: M(L) is a loss, logged and recorded exactly."""
    meltr, losses = tiny_meltr(0).float(), torch.tensor([1.5, 0.25, 3.0])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under = meltr(losses)
    assert under.dtype == torch.float32 and torch.equal(under, meltr(losses))
