"""Heart rate from running activity: a causal LSTM over a workout's fixed time grid.

Input  ``activity_sequence`` float32 (1, T, 3): per step speed (m/s), grade (rise/run) and observed
heart rate as calibration context (bpm; 0 = absent, e.g. everything after the first minutes).
Output ``hr_bpm`` float32 (1, T): the predicted heart rate at every step.

Causal: a forward (unidirectional) LSTM, so step t sees only steps ≤ t and the model can run during
a workout. No per-user embedding (unseen runners are the norm on device); a runner's own level comes
from the context channel. Normalization (train-set speed / grade / HR statistics) lives in buffers,
so the device feeds raw units.

**Calibration** (``config.calibration``):

- ``"none"``: the LSTM reads the context channel and carries what it learns in its state.
- ``"offset"``: the LSTM predicts a population HR ``p_t`` from pace and grade alone (it does not
  read the context), and the runner's level is an offset learned from the context: the weighted
  mean of the context residuals ``r = hr_context − p`` seen so far, ``b_t = Σ w r / (Σ w + k)``,
  with a learned robustness weight ``w`` per context step (an implausible reading, e.g. a strap
  without contact, can weigh little) and a learned prior strength ``k`` (steps). Output ``p_t + b_t``.
  The two sums never decay: the offset lasts the whole run however long. The context's first
  ``context_settle_s`` seconds do not count (a third running sum counts the context steps): on
  real runs the warm-up's HR reflects how the runner started more than their level — over five
  trained models, calibrating on minutes 3-5 of a 5-min context lowered the tune runners' median
  MAE from 9.5 to 8.8 bpm and the worst run's from 25.5 to 20.5 (``realdata/runs``, tune split).
- ``"kinetics"`` (issue 23's physiological prior, measured against ``"offset"``; see
  ``scripts/kinetics_prior.py``): a first-order kinetics prior ``hr0 + G·s`` — s the response
  (τ = 60 s, from rest; a fixed ReLU RNN) to grade-adjusted speed (Minetti et al. 2002) — whose hr0
  and gain are ridge-fitted to the (robustly weighted) context seen so far, towards the training
  population's values; the LSTM reads pace, grade and the prior and predicts the residual.

**State across windows** (DESIGN: a run longer than T is one run): ``forward(x, state)`` with a
``state`` (B, :attr:`HRActivity.state_size`) — the LSTM's h and c of every layer, then the
calibration sums — returns ``(hr, state_out)``; feeding ``state_out`` with the next window gives
exactly the prediction of the two windows as one sequence. ``forward(x)`` starts from zeros (the
start of a workout) and returns HR only.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.params import HRActivityConfig

N_CHANNELS = 3  # speed_mps, grade, hr_context_bpm
CALIBRATIONS = ("none", "offset", "kinetics")
MINETTI = (155.4, -30.4, -43.3, 46.3, 19.5, 3.6)  # C(i) J/kg/m, Minetti et al. 2002 (edgekit.data.signal.hr_kinetics)
KINETICS_TAU_S = 60.0  # the prior's time constant (Hunt et al. 2015: nominal 57.6 s)
RIDGE_HR0 = 0.05  # ridge weights of the prior's fit to the context (in squared-error steps, HR s.d. units)
RIDGE_GAIN = 200.0


class HRActivity(nn.Module):
    """(1, T, 3) speed m/s, grade, context HR bpm (0 = absent) → (1, T) HR bpm."""

    def __init__(self, config: HRActivityConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.register_buffer("speed_mean", torch.tensor(2.8))
        self.register_buffer("speed_std", torch.tensor(0.8))
        self.register_buffer("grade_std", torch.tensor(0.05))
        self.register_buffer("hr_mean", torch.tensor(150.0))
        self.register_buffer("hr_std", torch.tensor(15.0))
        self.offset = config.calibration == "offset"
        self.kinetics = config.calibration == "kinetics"
        self.lstm_context = config.calibration == "none"
        # features: speed, grade, context HR (normalized, 0 where absent), context present (0/1);
        # with the offset calibration the LSTM reads pace and grade only; with the kinetics prior,
        # pace, grade and the prior
        n_in = 4 if self.lstm_context else 3 if self.kinetics else 2
        self.lstm = nn.LSTM(input_size=n_in, hidden_size=config.hidden_size,
                            num_layers=config.n_layers, batch_first=True,
                            dropout=config.dropout if config.n_layers > 1 else 0.0)
        self.head = nn.Linear(config.hidden_size, 1)
        if self.offset:
            # each context step's weight from the LSTM state, the residual and its size; starts as a
            # robust estimator: residuals beyond about 2.5 HR s.d. (a strap without contact) weigh little
            self.weight_head = nn.Linear(config.hidden_size + 2, 1)
            with torch.no_grad():
                self.weight_head.weight[0, :config.hidden_size].mul_(0.1)
                self.weight_head.weight[0, config.hidden_size:] = torch.tensor([0.5, -2.0])
                self.weight_head.bias.fill_(4.0)
            self.prior_steps = nn.Parameter(torch.tensor(0.5))  # k = softplus(.) · 10 steps
            self.settle_steps = float(round(config.context_settle_s / config.step_s))
        if self.kinetics:
            # s: first-order response (τ = KINETICS_TAU_S) of grade-adjusted speed, from rest: a fixed
            # ReLU RNN (effort is never negative, so the ReLU is the identity): s_t = a u_t + (1 - a) s_t-1
            a = 1.0 - float(torch.exp(torch.tensor(-config.step_s / KINETICS_TAU_S)))
            self.response = nn.RNN(1, 1, nonlinearity="relu", bias=False, batch_first=True)
            with torch.no_grad():
                self.response.weight_ih_l0.fill_(a)
                self.response.weight_hh_l0.fill_(1.0 - a)
            self.response.requires_grad_(False)
            self.register_buffer("kin_hr0", torch.tensor(0.0))  # population prior, normalized HR
            self.register_buffer("kin_gain", torch.tensor(1.0))  # per m/s of effort, normalized HR
            # each context step's weight in the fit, from its residual against the population prior:
            # starts robust (a reading far below the prior, a strap without contact, weighs little)
            self.kin_weight = nn.Linear(2, 1)
            with torch.no_grad():
                self.kin_weight.weight.copy_(torch.tensor([[0.5, -2.0]]))
                self.kin_weight.bias.fill_(4.0)

    @property
    def state_size(self) -> int:
        """Floats of the state carried across windows: h and c of each layer (+ 2 calibration sums)."""
        return state_size(self.config)

    def set_normalization(self, speed_mean: float, speed_std: float, grade_std: float, hr_mean: float,
                          hr_std: float, kin_hr0_bpm: float | None = None, kin_gain_bpm_per_mps: float | None = None
                          ) -> None:
        """Store training-set statistics (m/s, rise/run, bpm) and, for the kinetics prior, the
        population's first-order kinetics fit (hr0 bpm, gain bpm per m/s of effort)."""
        self.speed_mean.fill_(float(speed_mean))
        self.speed_std.fill_(max(float(speed_std), 1e-3))
        self.grade_std.fill_(max(float(grade_std), 1e-4))
        self.hr_mean.fill_(float(hr_mean))
        self.hr_std.fill_(max(float(hr_std), 1e-3))
        if self.kinetics and kin_hr0_bpm is not None and kin_gain_bpm_per_mps is not None:
            self.kin_hr0.fill_((float(kin_hr0_bpm) - float(hr_mean)) / self.hr_std.item())
            self.kin_gain.fill_(float(kin_gain_bpm_per_mps) / self.hr_std.item())

    def forward(self, activity_sequence: torch.Tensor, state: torch.Tensor | None = None):
        speed = activity_sequence[:, :, 0:1]
        grade = activity_sequence[:, :, 1:2]
        hr_ctx = activity_sequence[:, :, 2:3]
        present = (hr_ctx > 0.0).to(activity_sequence.dtype)
        feats = [(speed - self.speed_mean) / self.speed_std, grade / self.grade_std]
        if self.lstm_context:
            feats += [present * (hr_ctx - self.hr_mean) / self.hr_std, present]
        L, H = self.config.n_layers, self.config.hidden_size
        B = activity_sequence.shape[0]
        kin_state = None
        if self.kinetics:
            prior, kin_state = self._prior(speed, grade, hr_ctx, present, state, 2 * L * H)
            feats.append(prior)
        x = torch.cat(feats, dim=2)
        if state is None:
            out, (hn, cn) = self.lstm(x)
        else:
            h0 = state[:, : L * H].reshape(B, L, H).transpose(0, 1).contiguous()
            c0 = state[:, L * H: 2 * L * H].reshape(B, L, H).transpose(0, 1).contiguous()
            out, (hn, cn) = self.lstm(x, (h0, c0))
        base = self.head(out)  # (B, T, 1), normalized HR
        sums = None
        if self.offset:
            resid = present * ((hr_ctx - self.hr_mean) / self.hr_std - base)
            count = torch.cumsum(present, dim=1)  # context steps so far (the first ones settle)
            if state is not None:
                count = count + state[:, 2 * L * H + 2: 2 * L * H + 3].unsqueeze(1)
            settled = (count > self.settle_steps).to(present.dtype)
            w = present * settled * torch.sigmoid(self.weight_head(torch.cat([out, resid, resid.abs()], dim=2)))
            s = torch.cumsum(w * resid, dim=1)
            n = torch.cumsum(w, dim=1)
            if state is not None:
                s = s + state[:, 2 * L * H: 2 * L * H + 1].unsqueeze(1)
                n = n + state[:, 2 * L * H + 1: 2 * L * H + 2].unsqueeze(1)
            k = nn.functional.softplus(self.prior_steps) * 10.0
            base = base + s / (n + k)
            sums = (s[:, -1, :], n[:, -1, :], count[:, -1, :])
        if self.kinetics:
            base = prior + base  # the network predicts the residual of the prior
        hr = self.hr_mean + self.hr_std * base[:, :, 0]
        if state is None:
            return hr
        parts = [hn.transpose(0, 1).reshape(B, L * H), cn.transpose(0, 1).reshape(B, L * H)]
        if sums is not None:
            parts += list(sums)
        if kin_state is not None:
            parts.append(kin_state)
        return hr, torch.cat(parts, dim=1)

    def _prior(self, speed, grade, hr_ctx, present, state, at: int):
        """The kinetics prior (normalized HR, (B, T, 1)) and its state after the window (B, 6): the
        response s, then the context sums n, Σs, Σs², Σz, Σs·z (z = normalized context HR).

        hr0 and the gain are fitted to the context seen so far by ridge regression towards the
        population's values: ``min Σ (hr0 + G s − z)² + λ0 (hr0 − hr0_pop)² + λG (G − G_pop)²``,
        solved in closed form at every step (causal)."""
        g = torch.clamp(grade, -0.45, 0.45)
        cost = ((((MINETTI[0] * g + MINETTI[1]) * g + MINETTI[2]) * g + MINETTI[3]) * g + MINETTI[4]) * g + MINETTI[5]
        effort = speed * cost / MINETTI[5]
        s0 = None if state is None else state[:, at + 0: at + 1].reshape(1, -1, 1).contiguous()
        s, s_last = self.response(effort) if s0 is None else self.response(effort, s0)
        z = present * (hr_ctx - self.hr_mean) / self.hr_std
        r = present * (z - self.kin_hr0 - self.kin_gain * s)
        m = present * torch.sigmoid(self.kin_weight(torch.cat([r, r.abs()], dim=2)))
        sums = torch.cumsum(torch.cat([m, m * s, m * s * s, m * z, m * z * s], dim=2), dim=1)
        if state is not None:
            sums = sums + state[:, at + 1: at + 6].unsqueeze(1)
        n, sx, sxx, sy, sxy = (sums[:, :, i:i + 1] for i in range(5))
        l0, lg, h0p, gp = RIDGE_HR0, RIDGE_GAIN, self.kin_hr0, self.kin_gain
        a11, a12, a22 = n + l0, sx, sxx + lg
        b1, b2 = sy + l0 * h0p, sxy + lg * gp
        det = a11 * a22 - a12 * a12
        hr0 = (b1 * a22 - a12 * b2) / det
        gain = (a11 * b2 - a12 * b1) / det
        prior = hr0 + gain * s
        kin_state = torch.cat([s_last.reshape(-1, 1), sums[:, -1, :]], dim=1)
        return prior, kin_state


def state_size(config: HRActivityConfig) -> int:
    """Floats of the state carried across windows: h then c of each layer, then (offset) the weighted
    residual and weight sums and the count of context steps, or (kinetics) the response and five sums."""
    extra = {"offset": 3, "kinetics": 6}.get(config.calibration, 0)
    return 2 * config.n_layers * config.hidden_size + extra


class StatefulActivity(nn.Module):
    """The exported form: ``(activity_sequence, activity_state) → (hr_bpm, activity_state_out)``;
    without a state (eager calls), HR from the start of a run."""

    def __init__(self, model: HRActivity) -> None:
        super().__init__()
        self.model = model
        self.config = model.config

    def forward(self, activity_sequence: torch.Tensor, activity_state: torch.Tensor | None = None):
        return self.model(activity_sequence, activity_state)
