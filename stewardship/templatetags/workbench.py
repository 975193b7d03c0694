"""Template helpers: the score waterfall and the bar chart as inline SVG,
relative times with the exact time on hover, state badges."""

from __future__ import annotations

import datetime as dt
import math
from numbers import Number

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()

STATE_CLASSES = {
    "pending": "badge--pending", "approved": "badge--approved", "merged": "badge--merged",
    "retired": "badge--retired", "open": "badge--open", "deferred": "badge--deferred",
    "not_duplicate": "badge--notdup", "closed": "badge--retired",
}


@register.filter
def reltime(value):
    """``<time>`` with a relative text and the exact UTC time as a tooltip."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            return value
        value = parsed
    if isinstance(value, dt.datetime) and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.timezone.utc)
    exact = value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), exact, naturaltime(value))


@register.simple_tag
def badge(state, label=None):
    state = str(state or "")
    text = label or state.replace("_", " ").capitalize()
    return format_html('<span class="badge {}">{}</span>', STATE_CLASSES.get(state, ""), text)


@register.filter
def score_class(score):
    try:
        s = float(score)
    except (TypeError, ValueError):
        return ""
    return "score--high" if s >= 0.9 else "score--medium" if s >= 0.75 else "score--low"


@register.filter
def pct(value, digits=0):
    try:
        return f"{float(value) * 100:.{int(digits)}f}%"
    except (TypeError, ValueError):
        return ""


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.simple_tag(takes_context=True)
def qs(context, **changes):
    """The current query string with some parameters changed (page, sort…)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return "?" + encoded if encoded else "?"


@register.simple_tag(takes_context=True)
def sort_link(context, key, label):
    """A sortable column header: ``key`` ascending, ``-key`` descending."""
    current = context["request"].GET.get("sort", context.get("default_sort", ""))
    if current == key:
        new, arrow, state = "-" + key, " ▲", " (sorted ascending)"
    elif current == "-" + key:
        new, arrow, state = key, " ▼", " (sorted descending)"
    else:
        new, arrow, state = key, "", ""
    params = context["request"].GET.copy()
    params["sort"] = new
    params.pop("page", None)
    return format_html('<a href="?{}" class="sort">{}<span aria-hidden="true">{}</span>'
                       '<span class="sr-only">{}</span></a>', params.urlencode(), label, arrow, state)


def _num(value, default=0.0) -> float:
    if isinstance(value, Number) and not isinstance(value, bool) and math.isfinite(float(value)):
        return float(value)
    try:
        out = float(value)
        return out if math.isfinite(out) else default
    except (TypeError, ValueError):
        return default


def waterfall_steps(explanation) -> list[dict]:
    """Normalise an explanation (a list of per-field entries from the
    matching engine; keys vary by engine version) into waterfall steps."""
    steps = []
    for i, item in enumerate(explanation or []):
        if not isinstance(item, dict):
            steps.append({"label": str(item), "level": "", "weight": 0.0, "value_a": "", "value_b": "",
                          "prior": False, "tf": 0.0})
            continue
        label = str(item.get("field") or item.get("name") or item.get("comparison") or f"#{i + 1}")
        weight = _num(item.get("weight", item.get("bayes_factor_log2", item.get("log2_bayes_factor", 0.0))))
        steps.append({
            "label": label,
            "level": str(item.get("level") or item.get("label") or item.get("comparison_level") or ""),
            "weight": weight,
            "value_a": "" if item.get("value_a") is None else str(item.get("value_a")),
            "value_b": "" if item.get("value_b") is None else str(item.get("value_b")),
            "prior": label in ("(prior)", "prior") or item.get("level") == "prior",
            "tf": _num(item.get("tf_adjustment", 0.0)),
        })
    return steps


def probability(weight: float) -> float:
    try:
        return 2 ** weight / (1 + 2 ** weight)
    except OverflowError:
        return 1.0 if weight > 0 else 0.0


@register.simple_tag
def waterfall(explanation, score=None):
    """Splink-style waterfall as inline SVG: the prior, then each field
    adding or taking away weight (bits), ending at the final match weight."""
    steps = waterfall_steps(explanation)
    if not steps:
        return mark_safe('<p class="muted">The matching engine gave no field-by-field explanation for this '
                         "pair.</p>")
    total = sum(s["weight"] for s in steps)
    cum, points = 0.0, []
    for s in steps:
        start, cum = cum, cum + s["weight"]
        points.append((start, cum))
    lo = min(0.0, *[p for pair in points for p in pair], total)
    hi = max(0.0, *[p for pair in points for p in pair], total)
    if hi - lo < 1e-9:
        hi = lo + 1
    label_w, value_w, width, row_h, top = 230, 70, 760, 26, 8
    chart_w = width - label_w - value_w - 10
    x = lambda v: label_w + (v - lo) / (hi - lo) * chart_w  # noqa: E731
    n = len(steps) + 1
    height = top + n * row_h + 28
    final_p = probability(total) if score is None else _num(score)
    parts = [
        f'<svg class="waterfall" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="wf-title wf-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="wf-title">Match score explained field by field</title>',
        f'<desc id="wf-desc">Starts at the prior and adds each field\'s weight in bits; the total '
        f'{total:+.2f} bits is a match probability of {final_p * 100:.1f}%.</desc>',
    ]
    zero = x(0.0)
    parts.append(f'<line x1="{zero:.1f}" y1="{top - 4}" x2="{zero:.1f}" y2="{top + n * row_h}" class="wf-zero"/>')
    for i, (s, (start, end)) in enumerate(zip(steps, points)):
        y = top + i * row_h
        x0, x1 = sorted((x(start), x(end)))
        cls = "wf-prior" if s["prior"] else ("wf-pos" if s["weight"] > 0 else "wf-neg" if s["weight"] < 0 else "wf-none")
        sub = f' · {s["level"]}' if s["level"] and not s["prior"] else ""
        label = "Prior (base rate)" if s["prior"] else s["label"].replace("_", " ")
        tip = f'{label}{sub}: {s["weight"]:+.2f} bits'
        if s["value_a"] or s["value_b"]:
            tip += f' (A: {s["value_a"] or "—"} / B: {s["value_b"] or "—"})'
        parts.append(f'<g class="wf-row"><title>{escape(tip)}</title>')
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" class="wf-label" text-anchor="end">'
                     f'{escape(label[:28])}<tspan class="wf-level">{escape(sub[:26])}</tspan></text>')
        parts.append(f'<rect x="{x0:.1f}" y="{y + 5}" width="{max(x1 - x0, 1.5):.1f}" height="{row_h - 10}" '
                     f'class="{cls}" rx="2"/>')
        if i < len(steps) - 1:
            parts.append(f'<line x1="{x(end):.1f}" y1="{y + row_h - 5}" x2="{x(end):.1f}" y2="{y + row_h + 5}" '
                         f'class="wf-link"/>')
        parts.append(f'<text x="{width - 6}" y="{y + 17}" class="wf-value" text-anchor="end">'
                     f'{s["weight"]:+.2f}</text></g>')
    y = top + len(steps) * row_h
    x0, x1 = sorted((x(0.0), x(total)))
    parts.append(f'<g class="wf-row wf-total"><title>Final match weight {total:+.2f} bits = '
                 f'{final_p * 100:.1f}%</title>')
    parts.append(f'<text x="{label_w - 8}" y="{y + 17}" class="wf-label wf-strong" text-anchor="end">'
                 f'Final score</text>')
    parts.append(f'<rect x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1.5):.1f}" height="{row_h - 8}" '
                 f'class="wf-final" rx="2"/>')
    parts.append(f'<text x="{width - 6}" y="{y + 17}" class="wf-value wf-strong" text-anchor="end">'
                 f'{final_p * 100:.0f}%</text></g>')
    # axis
    ay = top + n * row_h + 4
    parts.append(f'<line x1="{label_w}" y1="{ay}" x2="{label_w + chart_w}" y2="{ay}" class="wf-axis"/>')
    for tick in _ticks(lo, hi):
        tx = x(tick)
        parts.append(f'<line x1="{tx:.1f}" y1="{ay}" x2="{tx:.1f}" y2="{ay + 4}" class="wf-axis"/>')
        parts.append(f'<text x="{tx:.1f}" y="{ay + 16}" class="wf-tick" text-anchor="middle">{tick:g}</text>')
    parts.append(f'<text x="{label_w - 8}" y="{ay + 16}" class="wf-tick" text-anchor="end">bits</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _ticks(lo: float, hi: float) -> list[float]:
    span = hi - lo
    raw = span / 6
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = min((m * mag for m in (1, 2, 5, 10) if m * mag >= raw), default=mag)
    first = math.ceil(lo / step) * step
    out, v = [], first
    while v <= hi + 1e-9 and len(out) < 20:
        out.append(round(v, 6))
        v += step
    return out


@register.simple_tag
def bar_chart(rows, label_key="label", value_key="n", link_prefix=""):
    """Horizontal bars (exceptions by rule): label, bar, count."""
    rows = list(rows or [])
    if not rows:
        return mark_safe('<p class="empty">No records fail validation. Nothing to fix.</p>')
    top = max(_num(r.get(value_key)) for r in rows) or 1
    row_h, label_w, width = 24, 210, 520
    chart_w = width - label_w - 60
    height = row_h * len(rows) + 4
    parts = [f'<svg class="barchart" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="Records failing validation, by rule" xmlns="http://www.w3.org/2000/svg">']
    for i, r in enumerate(rows):
        y = i * row_h
        n = _num(r.get(value_key))
        w = max(n / top * chart_w, 2)
        label = escape(str(r.get(label_key, ""))[:32])
        inner = (f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="bar-label">{label}</text>'
                 f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" class="bar" rx="2"/>'
                 f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" class="bar-value">{int(n)}</text>')
        if link_prefix and r.get("rule"):
            parts.append(f'<a href="{escape(link_prefix)}#rule-{escape(r["rule"])}"><title>{label}: {int(n)}'
                         f'</title>{inner}</a>')
        else:
            parts.append(f"<g><title>{label}: {int(n)}</title>{inner}</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))


@register.filter
def entity_slug(entity_type):
    from stewardship.selectors import ENTITY_SLUGS

    return ENTITY_SLUGS.get(str(entity_type), str(entity_type))


@register.filter
def origin_label(origin):
    from mdm.choices import Origin

    try:
        return Origin(origin).label
    except ValueError:
        return origin or ""


@register.simple_tag(takes_context=True)
def workbench_abilities(context):
    """The signed-in person's abilities, for pages rendered outside the
    workbench views (403, login)."""
    from stewardship.permissions import abilities

    request = context.get("request")
    return abilities(request) if request is not None else None


@register.simple_tag
def nav_entities():
    from mdm.choices import EntityType
    from stewardship.selectors import ENTITY_SLUGS

    labels = {EntityType.CUSTOMER: "Customers", EntityType.LEGAL_ENTITY: "Legal entities",
              EntityType.CONTRACT: "Contracts", EntityType.PROJECT: "Projects"}
    return [(labels[k], v) for k, v in ENTITY_SLUGS.items()]


@register.filter
def spaced(value):
    return str(value or "").replace("_", " ")


@register.simple_tag
def cluster_graph(cluster, a, b):
    """The pair (A, B) and the other open suspected duplicates touching
    them, as a small node-link graph (Semarchy's duplicate manager)."""
    nodes, edges, records = cluster["nodes"], cluster["edges"], cluster["records"]
    width, height, cx, cy, radius = 420, 290, 210, 145, 100
    pos = {nodes[0]: (cx - 48, cy), nodes[1]: (cx + 48, cy)}
    others = nodes[2:]
    for i, n in enumerate(others):
        angle = -math.pi / 2 + 2 * math.pi * (i + 0.5) / max(len(others), 1)
        pos[n] = (cx + radius * 0.92 * math.cos(angle), cy + radius * 1.1 * math.sin(angle))
    parts = [f'<svg class="cluster" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="The pair and {len(others)} other suspected duplicate(s) of these records" '
             'xmlns="http://www.w3.org/2000/svg">']
    for ga, gb, score, task_id, current in sorted(edges, key=lambda e: e[4]):
        (x1, y1), (x2, y2) = pos[ga], pos[gb]
        if current:
            parts.append(f'<g><title>This pair: score {_num(score):.2f}</title>'
                         f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                         f'class="cl-edge cl-edge--current"/>'
                         f'<text x="{(x1 + x2) / 2:.0f}" y="{y1 - 22:.0f}" class="cl-score" text-anchor="middle">'
                         f'{_num(score):.2f}</text></g>')
        else:
            parts.append(f'<a href="/review/{int(task_id)}/"><title>Pair #{int(task_id)}: score {_num(score):.2f}'
                         f'</title><line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" class="cl-edge"/></a>')
    for n in nodes:
        x, y = pos[n]
        if n in (nodes[0], nodes[1]):
            tag = "A" if n == nodes[0] else "B"
            name = str(a if n == nodes[0] else b)
            parts.append(f'<g><title>{tag}: {escape(name)}</title><circle cx="{x:.0f}" cy="{y:.0f}" r="17" '
                         f'class="cl-node cl-node--pair"/><text x="{x:.0f}" y="{y + 5:.0f}" text-anchor="middle" '
                         f'class="cl-tag">{tag}</text></g>')
            continue
        name = str(records.get(n, n[:8]))
        anchor = "start" if x > cx + 8 else "end" if x < cx - 8 else "middle"
        lx = x + (12 if anchor == "start" else -12 if anchor == "end" else 0)
        ly = y + 4 + (14 if anchor == "middle" and y > cy else -12 if anchor == "middle" else 0)
        parts.append(f'<g><title>{escape(name)}</title><circle cx="{x:.0f}" cy="{y:.0f}" r="8" class="cl-node"/>'
                     f'<text x="{lx:.0f}" y="{ly:.0f}" text-anchor="{anchor}" class="cl-label">'
                     f'{escape(name if len(name) <= 17 else name[:16] + "…")}</text></g>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
