"""Recurrent MIL ops: ``lstm``, ``gru``, ``rnn`` (sequence-first: x is (seq, batch, input)).

Gate layouts follow the MIL op definitions: LSTM weights stack gates as [input, forget, output,
cell] ("ifoz"), GRU as [reset, output, update] ("roz"). Bias is the sum of input and recurrent bias.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from edgekit.mil.ops import Call, register

_ACTIVATIONS = {
    "sigmoid": special.expit,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),
}


def _act(c: Call, name: str, default: str):
    key = str(c.scalar(name, default))
    if key not in _ACTIVATIONS:
        raise c.fail(f"{name} {key!r} not supported by the reference evaluator")
    return _ACTIVATIONS[key]


def _lstm_direction(x, h, cell, w_ih, w_hh, b, peep, reverse, f_rec, f_cell, f_out):
    """Run one direction; returns per-step hidden states (s, b, H) in input time order, h, c."""
    s = x.shape[0]
    hidden = w_hh.shape[1]
    steps = range(s - 1, -1, -1) if reverse else range(s)
    out = np.zeros((s, x.shape[1], hidden))
    pi, pf, po = (peep[:hidden], peep[hidden : 2 * hidden], peep[2 * hidden :]) if peep is not None else (0, 0, 0)
    for t in steps:
        g = x[t] @ w_ih.T + h @ w_hh.T + b
        i = f_rec(g[:, :hidden] + pi * cell)
        f = f_rec(g[:, hidden : 2 * hidden] + pf * cell)
        z = f_cell(g[:, 3 * hidden :])
        cell = f * cell + i * z
        o = f_rec(g[:, 2 * hidden : 3 * hidden] + po * cell)
        h = o * f_out(cell)
        out[t] = h
    return out, h, cell


@register("lstm")
def _lstm(c: Call):
    x = c.f("x")
    if c.get("clip", None) is not None:
        raise c.fail("lstm with clip is not supported by the reference evaluator")
    direction = str(c.scalar("direction", "forward"))
    f_rec = _act(c, "recurrent_activation", "sigmoid")
    f_cell = _act(c, "cell_activation", "tanh")
    f_out = _act(c, "activation", "tanh")
    h0, c0 = c.f("initial_h"), c.f("initial_c")
    w_ih, w_hh = c.f("weight_ih"), c.f("weight_hh")
    hidden = w_hh.shape[1]
    bias = c.f("bias", None)
    bias = np.zeros(4 * hidden) if bias is None else bias
    peep = c.f("peephole", None)
    if direction in ("forward", "reverse"):
        seq, h, cell = _lstm_direction(
            x, h0, c0, w_ih, w_hh, bias, peep, direction == "reverse", f_rec, f_cell, f_out
        )
        last = seq[0] if direction == "reverse" else seq[-1]
    elif direction == "bidirectional":
        fw = _lstm_direction(x, h0[:, :hidden], c0[:, :hidden], w_ih, w_hh, bias, peep, False, f_rec, f_cell, f_out)
        b_back = c.f("bias_back", None)
        bw = _lstm_direction(
            x, h0[:, hidden:], c0[:, hidden:], c.f("weight_ih_back"), c.f("weight_hh_back"),
            np.zeros(4 * hidden) if b_back is None else b_back, c.f("peephole_back", None),
            True, f_rec, f_cell, f_out,
        )
        seq = np.concatenate([fw[0], bw[0]], axis=-1)
        h = np.concatenate([fw[1], bw[1]], axis=-1)
        cell = np.concatenate([fw[2], bw[2]], axis=-1)
        last = np.concatenate([fw[0][-1], bw[0][0]], axis=-1)
    else:
        raise c.fail(f"unknown direction {direction!r}")
    output = seq if bool(c.scalar("output_sequence", False)) else last[None]
    return output, h, cell


@register("gru")
def _gru(c: Call):
    """MIL GRU: r, z = σ(W_i x + W_h h + b); o = act(W_io x + r ∘ (W_ho h) + b_o); h = (1−z)∘o + z∘h."""
    x = c.f("x")
    direction = str(c.scalar("direction", "forward"))
    if direction not in ("forward", "reverse"):
        raise c.fail(f"unknown direction {direction!r}")
    f_rec = _act(c, "recurrent_activation", "sigmoid")
    f_out = _act(c, "activation", "tanh")
    h = c.f("initial_h")
    w_ih, w_hh = c.f("weight_ih"), c.f("weight_hh")
    hidden = w_hh.shape[1]
    bias = c.f("bias", None)
    bias = np.zeros(3 * hidden) if bias is None else bias
    in_bias = c.f("input_bias", None)
    in_bias = np.zeros(3 * hidden) if in_bias is None else in_bias
    reset_after = bool(c.scalar("reset_after", False))
    s = x.shape[0]
    out = np.zeros((s, x.shape[1], hidden))
    steps = range(s - 1, -1, -1) if direction == "reverse" else range(s)
    sl = [slice(0, hidden), slice(hidden, 2 * hidden), slice(2 * hidden, 3 * hidden)]
    for t in steps:
        gx = x[t] @ w_ih.T + in_bias
        gh = h @ w_hh.T
        r = f_rec(gx[:, sl[0]] + gh[:, sl[0]] + bias[sl[0]])
        z = f_rec(gx[:, sl[2]] + gh[:, sl[2]] + bias[sl[2]])
        if reset_after:
            o = f_out(gx[:, sl[1]] + r * (gh[:, sl[1]] + bias[sl[1]]))
        else:
            o = f_out(gx[:, sl[1]] + r * gh[:, sl[1]] + bias[sl[1]])
        h = (1.0 - z) * o + z * h
        out[t] = h
    last = out[0] if direction == "reverse" else out[-1]
    return (out if bool(c.scalar("output_sequence", False)) else last[None]), h


@register("rnn")
def _rnn(c: Call):
    x = c.f("x")
    direction = str(c.scalar("direction", "forward"))
    if direction not in ("forward", "reverse"):
        raise c.fail(f"unknown direction {direction!r}")
    f_out = _act(c, "activation", "tanh")
    h = c.f("initial_h")
    w_ih, w_hh = c.f("weight_ih"), c.f("weight_hh")
    bias = c.f("bias", None)
    bias = 0.0 if bias is None else bias
    s = x.shape[0]
    out = np.zeros((s, x.shape[1], w_hh.shape[0]))
    steps = range(s - 1, -1, -1) if direction == "reverse" else range(s)
    for t in steps:
        h = f_out(x[t] @ w_ih.T + h @ w_hh.T + bias)
        out[t] = h
    last = out[0] if direction == "reverse" else out[-1]
    return (out if bool(c.scalar("output_sequence", False)) else last[None]), h
