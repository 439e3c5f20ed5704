# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""verify's status page: what it reads from Prometheus (the Golden Signals over a range,
the alerts), the drills' records, and the HTML it writes. Kept apart from the Ansible
module (plugins/modules/status_page.py) so that each part can be driven directly."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

try:
    import jinja2
    from markupsafe import Markup
except ImportError as error:  # the module reports it with missing_required_lib
    PAGE_IMPORT_ERROR: ImportError | None = error
else:
    PAGE_IMPORT_ERROR = None

from ansible_collections.titanium.platform.plugins.module_utils.golden_signals import (
    SIGNALS,
    PrometheusClient,
    SignalSpec,
)
from ansible_collections.titanium.platform.plugins.module_utils.plots import (
    Series,
    line_chart,
    svg_id,
)


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    y_label: str
    # (signal, drawn dashed): a chart's second signal is the same service's other line.
    signals: tuple[tuple[str, bool], ...]


CHARTS = (
    Chart("traffic", "Request rate", "requests/s", (("requests_per_second", False),)),
    Chart(
        "errors",
        "Error ratio: 5xx solid, 4xx dashed",
        "% of requests",
        (("error_5xx_percent", False), ("error_4xx_percent", True)),
    ),
    Chart("latency", "Latency: p95 solid, p99 dashed", "ms", (("p95_ms", False), ("p99_ms", True))),
    Chart(
        "saturation",
        "Saturation: CPU used against the containers' limits",
        "% of limit",
        (("cpu_saturation_percent", False),),
    ),
)
SIGNAL_NAMES = {
    "requests_per_second": "req/s",
    "p95_ms": "p95",
    "p99_ms": "p99",
    "error_4xx_percent": "4xx",
    "error_5xx_percent": "5xx",
    "cpu_saturation_percent": "CPU",
}


@dataclass(frozen=True)
class Window:
    """The range the charts cover: `end` rounded down to a whole step, so that the last
    point of every series is an instant query at `end` and two runs within one step
    read the same points."""

    start: float
    end: float
    step: float

    @classmethod
    def ending(cls, end: float, seconds: float, step: float) -> Window:
        aligned = math.floor(end / step) * step
        return cls(aligned - seconds, aligned, step)


def read_ranges(
    client: PrometheusClient, spec: SignalSpec, services: list[str], window: Window
) -> tuple[dict[str, dict[str, list[tuple[float, float | None]]]], dict[str, str]]:
    """{signal: {service: [(time, value or None)]}} from the same PromQL the instant
    Golden Signals use, so the charts end where the summary's table stands."""
    queries = spec.queries()
    ranges: dict[str, dict[str, list[tuple[float, float | None]]]] = {}
    for signal in SIGNALS:
        by_service: dict[str, list[tuple[float, float | None]]] = {}
        for series in client.range(queries[signal], window.start, window.end, window.step):
            service = series["metric"].get(spec.service_label)
            if not service or (services and service not in services):
                continue
            by_service[service] = [(float(t), _finite(v)) for t, v in series["values"]]
        ranges[signal] = dict(sorted(by_service.items()))
    return ranges, queries


def _finite(text: str) -> float | None:
    value = float(text)
    return None if math.isnan(value) or math.isinf(value) else value


def active_alerts(client: PrometheusClient) -> list[dict]:
    """Alerts the rules hold now, firing before pending, then by name and service."""
    alerts = [
        {
            "name": a["labels"].get("alertname", ""),
            "state": a.get("state", ""),
            "severity": a["labels"].get("severity", ""),
            "service": a["labels"].get("service", ""),
            "since": a.get("activeAt", ""),
            "summary": (a.get("annotations") or {}).get("summary", ""),
            "runbook_url": (a.get("annotations") or {}).get("runbook_url", ""),
        }
        for a in client.alerts()
    ]
    return sorted(alerts, key=lambda a: (a["state"] != "firing", a["name"], a["service"]))


def read_drills(path: str | None, most: int = 10) -> tuple[list[dict], str]:
    """The drills' latest records, newest first, and a note when there are none."""
    if not path:
        return [], "no drill record file given"
    try:
        records = json.loads(Path(path).read_text())["drills"]
    except FileNotFoundError:
        return [], f"no drill has run here yet ({path} does not exist)"
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [], f"{path} cannot be read: {error}"
    records = [r for r in records if isinstance(r, dict)]
    return sorted(records, key=lambda r: str(r.get("finished", "")), reverse=True)[:most], ""


def charts(
    ranges: dict[str, dict[str, list[tuple[float, float | None]]]], services: list[str]
) -> list[dict]:
    """Each chart's SVG, one colour per service on every chart."""
    known = list(services) or sorted({s for by in ranges.values() for s in by})
    colour = {service: index for index, service in enumerate(known)}
    drawn = []
    for chart in CHARTS:
        series = [
            Series(
                label=f"{service} {SIGNAL_NAMES[signal]}" if len(chart.signals) > 1 else service,
                points=points,
                colour_index=colour.get(service, len(colour)),
                dashed=dashed,
                gid=svg_id("series", signal, service),
            )
            for signal, dashed in chart.signals
            for service, points in ranges.get(signal, {}).items()
        ]
        svg = line_chart(chart.title, series, y_label=chart.y_label, id_prefix=chart.key)
        drawn.append({"key": chart.key, "title": chart.title, "svg": svg})
    return drawn


def latest(ranges: dict[str, dict[str, list[tuple[float, float | None]]]]) -> dict:
    """{signal: {service: the last value in the window}}: what each line ends on."""
    return {
        signal: {
            service: next((p[1] for p in reversed(points) if p[1] is not None), None)
            for service, points in by_service.items()
        }
        for signal, by_service in ranges.items()
    }


def utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(page: dict) -> str:
    """The HTML: every value escaped by Jinja2's autoescape; only the charts, drawn
    here from numbers, go in as markup."""
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    environment.filters["number"] = _number_cell
    # S704: the SVG is matplotlib's, which escapes the labels (service names) it draws.
    svg = [{**c, "svg": Markup(c["svg"])} for c in page["charts"]]  # noqa: S704
    page = {**page, "charts": svg}
    return environment.from_string(TEMPLATE).render(page=page, signal_names=SIGNAL_NAMES)


def _number_cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def without_charts(html: str) -> str:
    """The page for a diff: each chart as one line with its size, not kilobytes of
    path data nobody reads in a terminal."""
    return re.sub(r"<svg\b.*?</svg>", lambda m: f"<svg: {len(m.group(0))} bytes>", html, flags=re.S)


# No script, no external anything: the policy makes a browser refuse any fetch the
# page might still attempt, so "opens offline" is enforced, not hoped for.
TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Titanium {{ page.environment }}: {{ page.headline }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 64rem;
       color: #1b1b1b; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
h2 { font-size: 1.1rem; border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2rem; }
.meta { color: #555; font-size: .9rem; }
.ok { color: #176f2c; } .bad { color: #b00020; } .warn { color: #8a5a00; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eee;
         vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: .8rem 0; }
figure svg { width: 100%; height: auto; }
code { font-size: .8rem; word-break: break-all; }
.note { color: #555; font-style: italic; }
</style>
</head>
<body>
<h1>Titanium {{ page.environment }}:
<span class="{{ 'ok' if not page.degraded else 'bad' }}">{{ page.headline }}</span></h1>
<p class="meta">Written by verify at {{ page.generated }}. Charts: {{ page.window_text }}.</p>

{% if page.degraded %}
<h2 id="degraded">Degraded</h2>
<ul>
{% for item in page.degraded %}
  <li class="bad"><strong>{{ item.component }}</strong>: {{ item.problem }}</li>
{% endfor %}
</ul>
{% endif %}

{% if page.get('checked') or page.get('not_checked') %}
<h2 id="checked">What was checked</h2>
<ul>
{% for line in page.get('checked', []) %}
  <li>{{ line }}</li>
{% endfor %}
{% for line in page.get('not_checked', []) %}
  <li class="warn">Not checked: {{ line }}</li>
{% endfor %}
</ul>
{% endif %}

<h2 id="applications">Argo CD Applications</h2>
{% if page.applications %}
<table>
<tr><th>Application</th><th>sync</th><th>health</th><th>operation</th><th>revision</th><th>message</th></tr>
{% for app in page.applications %}
<tr>
  <td>{{ app.name }}</td>
  <td class="{{ 'ok' if app.sync == 'Synced' else 'bad' }}">{{ app.sync }}</td>
  <td class="{{ 'ok' if app.health == 'Healthy' else 'bad' }}">{{ app.health }}</td>
  <td>{{ app.operation | default('') }}</td>
  <td><code title="{{ app.revision | default('') }}">
    {{- (app.revision | default(''))[:12] or '-' -}}
  </code></td>
  <td>{{ app.message | default('') }}</td>
</tr>
{% endfor %}
</table>
{% else %}
<p class="note">{{ page.applications_note }}</p>
{% endif %}

<h2 id="signals">Golden Signals</h2>
{% if page.signals %}
<table>
<tr><th>service</th>
{% for name in page.signal_order %}<th>{{ signal_names[name] }}</th>{% endfor %}
</tr>
{% for service, values in page.signals.items() %}
<tr><td>{{ service }}</td>
{% for name in page.signal_order %}<td class="n">{{ values.get(name) | number }}</td>{% endfor %}
</tr>
{% endfor %}
</table>
<p class="meta">Now, over {{ page.signals_window }}; req/s in requests per second,
p95/p99 in ms, 4xx/5xx/CPU in %.</p>
{% endif %}
{% if page.prometheus_error %}
<p class="bad">Prometheus did not answer: {{ page.prometheus_error }}</p>
{% endif %}
{% for chart in page.charts %}
<figure id="chart-{{ chart.key }}">
{{ chart.svg }}
</figure>
{% else %}
<p class="note">{{ page.charts_note }}</p>
{% endfor %}
{% if page.queries %}
<details><summary>PromQL of the charts</summary>
<table>
{% for name, query in page.queries.items() %}
<tr><td>{{ signal_names[name] }}</td><td><code>{{ query }}</code></td></tr>
{% endfor %}
</table>
</details>
{% endif %}

<h2 id="alerts">Alerts</h2>
{% if page.alerts %}
<table>
<tr><th>alert</th><th>state</th><th>severity</th><th>service</th><th>since</th><th>summary</th></tr>
{% for alert in page.alerts %}
<tr class="{{ 'bad' if alert.state == 'firing' else 'warn' }}">
  <td>{{ alert.name }}</td><td>{{ alert.state }}</td><td>{{ alert.severity }}</td>
  <td>{{ alert.service }}</td><td>{{ alert.since }}</td>
  <td>{{ alert.summary }}
    {%- if alert.runbook_url %} (runbook: <code>{{ alert.runbook_url }}</code>){% endif %}</td>
</tr>
{% endfor %}
</table>
{% else %}
<p class="note">{{ page.alerts_note }}</p>
{% endif %}

<h2 id="drills">Drills</h2>
{% if page.drills %}
<table>
<tr><th>drill</th><th>target</th><th>finished</th><th>recovery</th><th>limit</th><th>result</th></tr>
{% for drill in page.drills %}
<tr>
  <td>{{ drill.drill | default('') }}</td><td>{{ drill.target | default('') }}</td>
  <td>{{ drill.finished | default('') }}</td>
  <td class="n">{{ drill.recovery_seconds | default(None) | number }} s</td>
  <td class="n">{{ drill.limit_seconds | default(None) | number }} s</td>
  {% set passed = drill.passed | default(false) %}
  <td class="{{ 'ok' if passed else 'bad' }}">{{ 'within' if passed else 'over' }} the limit</td>
</tr>
{% endfor %}
</table>
{% else %}
<p class="note">{{ page.drills_note }}</p>
{% endif %}

<h2 id="consoles">Consoles and where credentials live</h2>
<table>
<tr><th>console</th><th>where</th><th>credentials</th></tr>
{% for console in page.consoles %}
<tr><td>{{ console.name }}</td>
<td>{% if console.enabled %}<code>{{ console.url }}</code>{% else %}switched off{% endif %}</td>
<td>{{ console.credentials }}</td></tr>
{% endfor %}
</table>
{% if page.secrets_note %}
<p class="meta">{{ page.secrets_note }}</p>
{% endif %}
</body>
</html>
"""
