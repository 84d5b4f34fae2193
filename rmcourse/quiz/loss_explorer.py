"""The live loss explorer: two reward sliders, the margin, σ(Δ), the loss and its gradient, and
the point moving on the loss curve; a static table of the same where there is no kernel."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np

from rmcourse.np_loss import bt_loss, bt_loss_grad, log_sigmoid
from rmcourse.quiz.figures import LossCurveFigure
from rmcourse.quiz.static import img_tag
from rmcourse.quiz.widgets import display_all, hide_static_style, static_then_widget
from rmcourse.validate import finite_number


class Explorer:
    """Sliders for r(x, y_w) and r(x, y_l) with Δ, σ(Δ), the loss and its gradient, live.

    Examples
    --------
    >>> ex = Explorer(r_chosen=2.0, r_rejected=0.5)
    >>> ex.readout_text()
    'Δ = 1.500 · σ(Δ) = 0.8176 · loss = 0.2014 · ∂L/∂r(x, y_w) = -0.1824 · ∂L/∂r(x, y_l) = 0.1824'
    >>> ex.chosen.value = -1.0
    >>> ex.readout_text().split(" · ")[2]
    'loss = 1.7014'
    """

    def __init__(self, r_chosen: float = 1.0, r_rejected: float = 0.0, limit: float = 6.0) -> None:
        for name, value in (("r_chosen", r_chosen), ("r_rejected", r_rejected)):
            if not -limit <= finite_number(value, name) <= limit:
                raise ValueError(f"{name}={value!r} is outside the slider range ±{limit:g}")
        slider = dict(
            min=-limit,
            max=limit,
            step=0.1,
            continuous_update=True,
            readout_format=".1f",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="420px"),
        )
        self.chosen = widgets.FloatSlider(value=r_chosen, description="r(x, y_w)", **slider)
        self.rejected = widgets.FloatSlider(value=r_rejected, description="r(x, y_l)", **slider)
        self.readout = widgets.HTML()
        self.readout.add_class("rmcourse-explorer-readout")
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="560px"))
        self._figure = LossCurveFigure(2 * limit)
        for s in (self.chosen, self.rejected):
            s.observe(self._update, names="value")
        self.widget = widgets.VBox(
            [hide_static_style(), self.chosen, self.rejected, self.readout, self.plot]
        )
        self.widget.add_class("rmcourse-explorer")
        self._update()

    def values(self) -> dict[str, float]:
        """Δ, σ(Δ), the loss and both gradients at the sliders' values."""
        r_w, r_l = [self.chosen.value], [self.rejected.value]
        margin = self.chosen.value - self.rejected.value
        g_w, g_l = bt_loss_grad(r_w, r_l)
        return {
            "margin": margin,
            "sigmoid": float(np.exp(log_sigmoid(margin))),
            "loss": bt_loss(r_w, r_l),
            "grad_chosen": float(g_w[0]),
            "grad_rejected": float(g_l[0]),
        }

    def readout_text(self) -> str:
        """The readout line, as shown under the sliders."""
        v = self.values()
        return (
            f"Δ = {v['margin']:.3f} · σ(Δ) = {v['sigmoid']:.4f} · loss = {v['loss']:.4f} · "
            f"∂L/∂r(x, y_w) = {v['grad_chosen']:.4f} · "
            f"∂L/∂r(x, y_l) = {v['grad_rejected']:.4f}"
        )

    def to_html(self) -> str:
        """A static table of the loss and gradient at a few margins, and the current plot."""
        margins = (-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0)
        rows = "".join(
            f"<tr><td>{m:g}</td><td>{np.exp(log_sigmoid(m)):.4f}</td>"
            f"<td>{bt_loss([m], [0.0]):.4f}</td><td>{bt_loss_grad([m], [0.0])[0][0]:.4f}</td></tr>"
            for m in margins
        )
        # the course site's script rebuilds the sliders from these attributes
        sliders = (
            f"data-r-chosen='{self.chosen.value:g}' "
            f"data-r-rejected='{self.rejected.value:g}' data-min='{self.chosen.min:g}' "
            f"data-max='{self.chosen.max:g}' data-step='{self.chosen.step:g}'"
        )
        return (
            f"<div class='rmcourse-explorer-static' {sliders}>"
            "<p><i>Run the notebook to move the sliders.</i> The loss of one pair at a few "
            "margins:</p><table><tr><th>Δ</th><th>σ(Δ)</th><th>loss −log σ(Δ)</th>"
            f"<th>∂L/∂r(x, y_w)</th></tr>{rows}</table>"
            + img_tag(self.plot.value, "pair loss against the margin")
            + "</div>"
        )

    def _update(self, _: object = None) -> None:
        self.readout.value = f"<code>{html.escape(self.readout_text())}</code>"
        self.plot.value = self._figure.png(self.values())

    def mimebundles(self) -> list[dict[str, Any]]:
        """What displaying the explorer shows: the static form, then the widgets."""
        return static_then_widget(self.to_html(), self.readout_text(), self.widget)

    def _ipython_display_(self) -> None:
        display_all(self.mimebundles())


def explorer(r_chosen: float = 1.0, r_rejected: float = 0.0) -> Explorer:
    """The live loss explorer (see :class:`Explorer`); displays as widgets, HTML or text.

    Examples
    --------
    >>> explorer(0.0, 0.0).values()["loss"] == explorer(3.0, 3.0).values()["loss"]
    True
    """
    return Explorer(r_chosen, r_rejected)
