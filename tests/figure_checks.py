"""Checks that a matplotlib figure reads well: legends, labels and titles inside the image, no two tick labels or titles overlapping."""

from __future__ import annotations

import itertools

from matplotlib.backends.backend_agg import FigureCanvasAgg


def inside(box, fig_box, tol=1.0):
    """Whether display-space `box` lies within `fig_box` (pixels of slack)."""
    return (box.x0 >= fig_box.x0 - tol and box.y0 >= fig_box.y0 - tol
            and box.x1 <= fig_box.x1 + tol and box.y1 <= fig_box.y1 + tol)


def overlap(a, b):
    """Whether two display-space boxes overlap by more than half a pixel each way."""
    return a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5


def shown_tick_labels(axis):
    """The visible, non-empty major tick labels of `axis` within its view."""
    lo, hi = sorted(axis.get_view_interval())
    return [t.label1 for t in axis.get_major_ticks()
            if t.label1.get_visible() and t.label1.get_text() and lo <= t.get_loc() <= hi]


def assert_readable(fig, name, y_from_zero=True):
    """Draw `fig` and assert it reads well; `name` goes into the failure message.

    Everything drawn lies within the image; every legend (on an axes or the figure), axis
    label and title lies inside it; no two tick labels of an axis overlap, nor two titles;
    with `y_from_zero`, no visible axes shows values below zero (unless on a log scale).
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    fig_box = fig.bbox
    tight = fig.get_tightbbox(renderer)
    whole = fig.bbox_inches
    assert tight.x0 >= whole.x0 - 0.01 and tight.y0 >= whole.y0 - 0.01, (name, "drawn outside the image")
    assert tight.x1 <= whole.x1 + 0.01 and tight.y1 <= whole.y1 + 0.01, (name, "drawn outside the image")
    for legend in fig.legends:
        assert inside(legend.get_window_extent(renderer), fig_box), (name, "figure legend clipped")
    titles = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        legend = ax.get_legend()
        if legend is not None:
            assert inside(legend.get_window_extent(renderer), fig_box), (name, "legend clipped")
        for text in (ax.xaxis.label, ax.yaxis.label, ax.title, ax._left_title):
            if text.get_text():
                assert inside(text.get_window_extent(renderer), fig_box), (name, text.get_text())
        titles += [t for t in (ax.title, ax._left_title) if t.get_text()]
        for axis in (ax.xaxis, ax.yaxis):
            labels = shown_tick_labels(axis)
            boxes = [t.get_window_extent(renderer) for t in labels]
            for b in boxes:
                assert inside(b, fig_box), (name, "tick label clipped")
            for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
                assert not overlap(a, b), (name, labels[i].get_text(), labels[j].get_text())
        if y_from_zero:
            assert ax.get_ylim()[0] >= 0 or ax.get_yscale() == "log", (name, "y below zero")
    boxes = [t.get_window_extent(renderer) for t in titles]
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not overlap(a, b), (name, titles[i].get_text(), titles[j].get_text())
