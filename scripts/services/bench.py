"""`make bench-services`: load the gateway started by `make services-up`.

Four scenarios, written to build/bench/services.json (p50/p95/p99 in ms,
requests/s, errors; CPU time per request of each process involved), with
build/bench/services.html beside it: the seed scenario's latency percentiles
and throughput second by second, plotted, and the other scenarios' figures:

- seed: the original k6 test's shape, shortened to about 2 minutes. Virtual
  users ramp 10 -> 50 -> 100; each iteration GETs /, /blog/, /api/posts and
  /health/ready one after another, then thinks for 1 s. Each virtual user is
  its own client address (X-Forwarded-For, one trusted hop, as behind the
  ingress gateway). Our own asyncio HTTP/1.1 keep-alive client: light enough
  to share the 2 cores with what it measures.
- reference: the smallest ASGI app on the services' server stack answering
  the same cached list bytes from the same Redis (bench/reference_app.py):
  the most this stack can do here.
- direct: blog-service's cached list (GET /posts), no gateway.
- max_throughput: the same list through the gateway (GET /api/posts).
The last three with wrk, 50 connections, no think time, each request from its
own simulated address (scripts/services/bench/posts.lua), in one run, so the
printed ratios (direct of reference, gateway of direct) compare like with like.
They run in interleaved rounds (reference, direct, gateway, then again;
`--rounds`, 3): on these machines the same code measures up to a third apart
from one round to the next, so each ratio is the median of the rounds' own
ratios, and each scenario's figures those of its median round.
- fresh_reads: 50 readers list /api/posts through the gateway while a writer
  retitles the newest post (on blog-service, as its author) after every 100
  reads, so the cache is cold again after each write. Every read records when
  it started and which title it saw; a read that started after a write was
  acknowledged and still saw an older title is stale. The target: none, at
  the gateway's p99 bound.

A 3xx counts as success (the / redirect is not followed); anything >= 400 or a
failed connection is an error.
"""

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# The plotting helper verify's status page uses (plugins/module_utils).
sys.path.insert(0, str(ROOT))
SEED_PATHS = ("/", "/blog/", "/api/posts", "/health/ready")
# (seconds, target virtual users at the end of the stage): linear ramps, ~2 minutes.
SEED_STAGES = ((15, 10), (30, 50), (30, 100), (35, 100), (10, 0))
TARGETS = {
    "seed": {"p95_ms_max": 15.0, "errors_max": 0},
    "max_throughput": {"requests_per_s_min": 1000.0, "p99_ms_max": 100.0},
    # Per-core efficiency (the same run): blog-service's cached list against the
    # reference app, and the gateway path against blog-service direct.
    "fresh_reads": {"p99_ms_max": 60.0, "stale_max": 0, "errors_max": 0},
    "ratios": {
        "direct_of_reference_min": 0.70,
        "gateway_of_direct_min": 0.75,
        "gateway_p99_ms_max": 60.0,
    },
}


class Connection:
    """One keep-alive HTTP/1.1 connection: just enough client for GETs."""

    def __init__(self, host: str, port: int, address: str) -> None:
        self.host, self.port, self.address = host, port, address
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"X-Forwarded-For: {self.address}\r\nUser-Agent: titanium-bench\r\n\r\n"
        )
        self.writer.write(request.encode())
        assert self.reader is not None
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            while (size := int((await self.reader.readline()).strip() or b"0", 16)) > 0:
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        elif length:
            await self.reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def summarise(latencies: list[float], errors: int, duration: float, **extra: object) -> dict:
    ordered = sorted(latencies)
    return {
        "requests": len(latencies) + errors,
        "errors": errors,
        "duration_s": round(duration, 2),
        "requests_per_s": round((len(latencies) + errors) / duration, 1),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
        "p95_ms": round(percentile(ordered, 0.95) * 1000, 2),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
        "max_ms": round((ordered[-1] if ordered else 0) * 1000, 2),
        **extra,
    }


def target_users(elapsed: float) -> int:
    start_users, stage_start = 0, 0.0
    for seconds, users in SEED_STAGES:
        if elapsed < stage_start + seconds:
            return round(start_users + (users - start_users) * (elapsed - stage_start) / seconds)
        start_users, stage_start = users, stage_start + seconds
    return 0


async def seed(host: str, port: int, scale: float) -> dict:
    latencies: list[float] = []
    by_path: dict[str, list[float]] = {path: [] for path in SEED_PATHS}
    # (second since the start, latency or None for an error): the plots' per-second buckets.
    timeline: list[tuple[int, float | None]] = []
    errors = 0
    total = sum(seconds for seconds, _ in SEED_STAGES) * scale
    started = time.monotonic()

    async def virtual_user(index: int) -> None:
        nonlocal errors
        connection = Connection(host, port, f"10.{index // 250}.{index % 250}.1")
        while True:
            elapsed = (time.monotonic() - started) / scale
            if elapsed * scale >= total or index >= target_users(elapsed):
                break
            for path in SEED_PATHS:
                began = time.perf_counter()
                try:
                    status = await connection.get(path)
                except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
                    errors += 1
                    timeline.append((int(time.monotonic() - started), None))
                    await connection.close()
                    continue
                if status >= 400:
                    errors += 1
                    timeline.append((int(time.monotonic() - started), None))
                else:
                    latencies.append(time.perf_counter() - began)
                    by_path[path].append(latencies[-1])
                    timeline.append((int(time.monotonic() - started), latencies[-1]))
            await asyncio.sleep(1.0)
        await connection.close()

    running: dict[int, asyncio.Task] = {}
    peak = 0
    while (elapsed := time.monotonic() - started) < total:
        want = target_users(elapsed / scale)
        peak = max(peak, want)
        for index in range(want):
            if index not in running or running[index].done():
                running[index] = asyncio.create_task(virtual_user(index))
        await asyncio.sleep(0.25)
    await asyncio.gather(*running.values())
    per_path = {
        path: {
            "p50_ms": round(percentile(sorted(values), 0.50) * 1000, 2),
            "p95_ms": round(percentile(sorted(values), 0.95) * 1000, 2),
        }
        for path, values in by_path.items()
    }
    return summarise(
        latencies,
        errors,
        time.monotonic() - started,
        virtual_users_max=peak,
        per_path=per_path,
        per_second=per_second(timeline),
    )


def per_second(timeline: list[tuple[int, float | None]]) -> list[dict]:
    """Requests, errors and latency percentiles of each second of the run."""
    buckets: dict[int, list[float | None]] = {}
    for second, latency in timeline:
        buckets.setdefault(second, []).append(latency)
    rows = []
    for second in range(max(buckets, default=-1) + 1):
        answered = sorted(v for v in buckets.get(second, []) if v is not None)
        rows.append(
            {
                "second": second,
                "requests": len(buckets.get(second, [])),
                "errors": len(buckets.get(second, [])) - len(answered),
                **{
                    f"p{q}_ms": round(percentile(answered, q / 100) * 1000, 2) if answered else None
                    for q in (50, 95, 99)
                },
            }
        )
    return rows


def write_plots(report: dict, out: Path) -> None:
    """An HTML page beside the JSON, self-contained (inline SVG, no script): the seed
    scenario's latency percentiles and throughput over time, every scenario's figures."""
    import html

    import titanium_tools  # noqa: F401  (the collection finder, before the import below)
    from ansible_collections.titanium.platform.plugins.module_utils.plots import Series, line_chart

    rows = report["scenarios"]["seed"]["per_second"]
    latency = [
        Series(f"p{q}", [(r["second"], r[f"p{q}_ms"]) for r in rows], index, gid=f"seed-p{q}")
        for index, q in enumerate((50, 95, 99))
    ]
    throughput = [
        Series("answered", [(r["second"], r["requests"] - r["errors"]) for r in rows], 0,
               gid="seed-answered"),
        Series("errors", [(r["second"], r["errors"]) for r in rows], 5, gid="seed-errors"),
    ]  # fmt: skip
    charts = [
        line_chart("Seed scenario: latency percentiles per second", latency, y_label="ms",
                   time_axis=False, x_label="seconds since the start", id_prefix="latency"),
        line_chart("Seed scenario: throughput", throughput, y_label="requests/s",
                   time_axis=False, x_label="seconds since the start", id_prefix="throughput"),
    ]  # fmt: skip
    columns = ("requests_per_s", "p50_ms", "p95_ms", "p99_ms", "errors")
    table = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        + "".join(f"<td>{html.escape(str(figures.get(c, '-')))}</td>" for c in columns)
        + "</tr>"
        for name, figures in report["scenarios"].items()
    )
    out.write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\"><title>bench-services</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:64rem;margin:1.5rem auto;padding:0 1rem}"
        "svg{width:100%;height:auto}table{border-collapse:collapse}"
        "td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:right}</style>"
        f"</head><body><h1>bench-services against {html.escape(report['target'])}</h1>"
        + "".join(f"<figure>{svg}</figure>" for svg in charts)
        + "<table><tr><th>scenario</th>"
        + "".join(f"<th>{c}</th>" for c in columns)
        + f"</tr>{table}</table></body></html>\n"
    )


def machine_load(before: float) -> dict[str, float]:
    """The 1-minute load average around a scenario: the machine is shared, and a
    figure taken while something else ran says less than the same figure quiet."""
    return {"load_before": round(before, 2), "load_after": round(os.getloadavg()[0], 2)}


def wake_latency(redis_url: str) -> dict[str, float]:
    """Median Redis PING back to back and after 200 ms idle. Each request in the
    seed scenario crosses five processes that have just slept; on a machine
    whose idle CPUs take milliseconds to wake (a busy virtualisation host),
    that alone adds tens of milliseconds, whatever the code does."""
    import redis

    client = redis.Redis.from_url(redis_url)
    figures = {}
    for label, pause in (("ping_back_to_back_ms", 0.0), ("ping_after_200ms_idle_ms", 0.2)):
        samples = []
        for _ in range(15):
            time.sleep(pause)
            began = time.perf_counter()
            client.ping()
            samples.append((time.perf_counter() - began) * 1000)
        figures[label] = round(statistics.median(samples), 3)
    client.close()
    return figures


def cpu_seconds(pid: int) -> float:
    """User plus system CPU the process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(url: str, path: str, seconds: int, processes: dict[str, int]) -> dict:
    """wrk, 50 connections, no think time, each request from its own simulated
    address; with each named process's CPU time per request over the run."""
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit(
            "bench-services: wrk not found (apt-get install wrk; it is in requirements/apt.txt)"
        )
    subprocess.run(["curl", "-fsS", "-o", "/dev/null", f"{url}{path}"], check=True)  # warm
    load_before = os.getloadavg()[0]
    cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    result = subprocess.run(
        [wrk, "-t2", "-c50", f"-d{seconds}s", "--timeout", "5s", "-s",
         str(ROOT / "scripts/services/bench/posts.lua"), url, "--", path],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    cpu_after = {name: cpu_seconds(pid) for name, pid in processes.items()}
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    requests = max(figures["requests"], 1)
    return {
        "path": path,
        "requests": figures["requests"],
        "errors": figures["errors"],
        "duration_s": round(figures["duration_s"], 2),
        "requests_per_s": round(figures["requests"] / figures["duration_s"], 1),
        "p50_ms": round(figures["p50_ms"], 2),
        "p95_ms": round(figures["p95_ms"], 2),
        "p99_ms": round(figures["p99_ms"], 2),
        "max_ms": round(figures["max_ms"], 2),
        "connections": 50,
        **machine_load(load_before),
        "cpu_us_per_request": {
            name: round((cpu_after[name] - cpu_before[name]) / requests * 1e6, 1)
            for name in processes
        },
    }


def median_round(rounds: list[dict], name: str) -> dict:
    """A scenario's figures from its median round by throughput, with every
    round's throughput beside them."""
    ordered = sorted((r[name] for r in rounds), key=lambda figures: figures["requests_per_s"])
    return {
        **ordered[len(ordered) // 2],
        "rounds_requests_per_s": [r[name]["requests_per_s"] for r in rounds],
    }


def median_ratio(rounds: list[dict], part: str, whole: str) -> float:
    """The median over the rounds of part's throughput as a share of whole's,
    each measured beside the other in the same round."""
    return round(
        statistics.median(r[part]["requests_per_s"] / r[whole]["requests_per_s"] for r in rounds),
        3,
    )


@contextlib.contextmanager
def reference_server(blog_url: str, redis_url: str) -> Iterator[tuple[str, int]]:
    """The reference app on a free port, serving the bytes blog-service answers
    for its cached list, stored once in the same Redis."""
    import redis

    key = "bench:reference:posts"
    redis.Redis.from_url(redis_url).set(key, httpx.get(f"{blog_url}/posts").content)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "reference_app.py", str(port)],
        cwd=ROOT / "scripts/services/bench",
        env={**os.environ, "REFERENCE_REDIS_URL": redis_url, "REFERENCE_KEY": key},
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url, timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(10)


# The data every run measures: the list endpoint's first page, full.
POSTS = 20
POST_CHARACTERS = 600


def new_author(url: str) -> dict[str, str]:
    """Headers of a new bench user, registered and logged in through the
    gateway from an address of its own (the per-address limits apply to it)."""
    address = {"X-Forwarded-For": f"198.18.{secrets.randbelow(250)}.{secrets.randbelow(250)}"}
    with httpx.Client(base_url=url, headers=address, timeout=10) as client:
        user = {"username": f"bench{secrets.token_hex(4)}", "password": secrets.token_urlsafe(16)}
        client.post(
            "/api/auth/register", json={**user, "email": f"{user['username']}@example.org"}
        ).raise_for_status()
        tokens = client.post("/api/auth/login", json=user)
        tokens.raise_for_status()
    return {**address, "Authorization": f"Bearer {tokens.json()['access_token']}"}


def ensure_posts(url: str) -> int:
    """At least POSTS posts of about POST_CHARACTERS characters, written through
    the gateway by a bench user, so every run lists the same shape of page."""
    total = httpx.get(f"{url}/api/posts").json()["total"]
    if total >= POSTS:
        return total
    client = httpx.Client(base_url=url, headers=new_author(url), timeout=10)
    words = "the quick brown fox jumps over the lazy dog and keeps running "
    body = (words * (POST_CHARACTERS // len(words) + 1))[:POST_CHARACTERS]
    for n in range(total, POSTS):
        client.post(
            "/api/posts", json={"title": f"Bench post {n}", "body": body, "category": "Bench"}
        ).raise_for_status()
    return POSTS


FRESH_READERS = 50
READS_PER_WRITE = 100


async def fresh_reads(url: str, blog_url: str, seconds: float) -> dict:
    """Reads never see a post older than the last acknowledged write (see the
    module's docstring), measured under load with a write every 100 reads."""
    import aiohttp

    author = {"Authorization": new_author(url)["Authorization"]}
    # Reads go through the gateway, each from its own address (the per-address
    # read limit applies per client); writes go to blog-service as the author,
    # past the gateway's per-user write limit, which a write every 100 reads exceeds.
    reads: list[tuple[float, int, float]] = []  # (started, title seen, latency)
    acknowledged: list[tuple[float, int]] = [(0.0, 0)]  # (when, title number)
    errors = 0
    done = asyncio.Event()
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=FRESH_READERS + 2), headers=author
    ) as session:
        created = await session.post(
            f"{blog_url}/posts", json={"title": "Fresh 0", "body": "fresh", "category": "Bench"}
        )
        created.raise_for_status()
        post_id = (await created.json())["id"]

        async def reader(index: int) -> None:
            nonlocal errors
            n = 0
            while not done.is_set():
                n += 1
                headers = {"X-Forwarded-For": f"10.{index}.{n // 250 % 250}.{n % 250}"}
                started = time.monotonic()
                try:
                    async with session.get(f"{url}/api/posts", headers=headers) as answer:
                        page = await answer.json() if answer.status == 200 else None
                except (aiohttp.ClientError, ValueError):
                    page = None
                if page is None:
                    errors += 1
                    continue
                titles = [item["title"] for item in page["items"] if item["id"] == post_id]
                seen = int(titles[0].split()[-1]) if titles else -1
                reads.append((started, seen, time.monotonic() - started))

        async def writer() -> None:
            nonlocal errors
            number = 0
            while not done.is_set():
                if len(reads) < READS_PER_WRITE * (number + 1):
                    await asyncio.sleep(0.001)
                    continue
                number += 1
                async with session.patch(
                    f"{blog_url}/posts/{post_id}", json={"title": f"Fresh {number}"}
                ) as answer:
                    if answer.status == 200:
                        acknowledged.append((time.monotonic(), number))
                    else:
                        errors += 1

        started = time.monotonic()
        tasks = [asyncio.create_task(reader(n)) for n in range(FRESH_READERS)]
        tasks.append(asyncio.create_task(writer()))
        await asyncio.sleep(seconds)
        done.set()
        await asyncio.gather(*tasks)
        duration = time.monotonic() - started
        await session.delete(f"{blog_url}/posts/{post_id}")
    stale = 0
    for read_started, seen, _ in reads:
        # The newest write acknowledged before this read began: it must show.
        newest = max(number for when, number in acknowledged if when < read_started)
        stale += seen < newest
    return {
        **summarise([latency for *_, latency in reads], errors, duration),
        "writes": len(acknowledged) - 1,
        "stale_reads": stale,
        "reads_per_write": READS_PER_WRITE,
        "readers": FRESH_READERS,
    }


def pid_of(name: str) -> int:
    return int((ROOT / "build/services/run" / f"{name}.pid").read_text())


def access_logs() -> dict[str, str]:
    """Each running service's access-log mode, from its own environment (the
    service's default, `all`, where none is set)."""
    modes = {}
    for name in ("api-gateway", "blog-service"):
        environ = Path(f"/proc/{pid_of(name)}/environ").read_bytes().split(b"\0")
        settings = dict(item.decode().partition("=")[::2] for item in environ if b"=" in item)
        found = [value for key, value in settings.items() if key.endswith("_ACCESS_LOG")]
        modes[name] = found[0] if found else "all"
    return modes


def cpu_summary(scenarios: dict) -> str:
    return "; ".join(
        f"{name} "
        + " ".join(f"{process} {us}" for process, us in figures["cpu_us_per_request"].items())
        for name, figures in scenarios.items()
        if "cpu_us_per_request" in figures
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=ROOT / "build/bench/services.json")
    parser.add_argument(
        "--seed-scale", type=float, default=1.0, help="stretch or shrink the seed ramp"
    )
    parser.add_argument(
        "--throughput-seconds", type=int, default=20, help="each round of each wrk scenario"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved wrk rounds")
    parser.add_argument("--fresh-seconds", type=int, default=20)
    parser.add_argument("--blog-url", default="http://127.0.0.1:8005")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:56379/0")
    args = parser.parse_args()
    host, _, port = args.url.removeprefix("http://").partition(":")
    posts = ensure_posts(args.url)
    wake = wake_latency(args.redis_url)
    load_before = os.getloadavg()
    seed_result = asyncio.run(seed(host, int(port or 80), args.seed_scale))
    seed_result.update(machine_load(load_before[0]))
    processes = {name: pid_of(name) for name in ("api-gateway", "blog-service", "redis")}
    rounds = []
    with reference_server(args.blog_url, args.redis_url) as (reference_url, reference_pid):
        for _ in range(max(args.rounds, 1)):
            rounds.append({
                "reference": throughput(
                    reference_url, "/", args.throughput_seconds,
                    {"reference": reference_pid, "redis": processes["redis"]},
                ),
                "direct": throughput(
                    args.blog_url, "/posts", args.throughput_seconds,
                    {name: processes[name] for name in ("blog-service", "redis")},
                ),
                "max_throughput": throughput(
                    args.url, "/api/posts", args.throughput_seconds, processes
                ),
            })  # fmt: skip
    reference, direct, through_gateway = (
        median_round(rounds, name) for name in ("reference", "direct", "max_throughput")
    )
    load_before_fresh = os.getloadavg()[0]
    fresh = asyncio.run(fresh_reads(args.url, args.blog_url, args.fresh_seconds))
    fresh.update(machine_load(load_before_fresh))
    ratios = {
        "direct_of_reference": median_ratio(rounds, "direct", "reference"),
        "gateway_of_direct": median_ratio(rounds, "max_throughput", "direct"),
    }
    met = {
        "seed": seed_result["p95_ms"] <= TARGETS["seed"]["p95_ms_max"]
        and seed_result["errors"] == 0,
        "max_throughput": through_gateway["requests_per_s"]
        >= TARGETS["max_throughput"]["requests_per_s_min"]
        and through_gateway["p99_ms"] <= TARGETS["max_throughput"]["p99_ms_max"],
        "direct_of_reference": ratios["direct_of_reference"]
        >= TARGETS["ratios"]["direct_of_reference_min"],
        "gateway_of_direct": ratios["gateway_of_direct"]
        >= TARGETS["ratios"]["gateway_of_direct_min"]
        and through_gateway["p99_ms"] <= TARGETS["ratios"]["gateway_p99_ms_max"],
        "fresh_reads": fresh["stale_reads"] <= TARGETS["fresh_reads"]["stale_max"]
        and fresh["errors"] <= TARGETS["fresh_reads"]["errors_max"]
        and fresh["p99_ms"] <= TARGETS["fresh_reads"]["p99_ms_max"],
    }
    report = {
        "target": args.url,
        "posts": posts,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            **wake,
        },
        "access_log": access_logs(),
        "scenarios": {
            "seed": seed_result,
            "reference": reference,
            "direct": direct,
            "max_throughput": through_gateway,
            "fresh_reads": fresh,
        },
        "ratios": ratios,
        "targets": TARGETS,
        "met": met,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    write_plots(report, args.out.with_suffix(".html"))
    print(json.dumps({**report, "scenarios": {
        name: {k: v for k, v in figures.items() if k != "per_second"}
        for name, figures in report["scenarios"].items()
    }}, indent=2))  # fmt: skip
    print(f"bench-services: plots in {args.out.with_suffix('.html')}")
    print(
        f"bench-services: reference {reference['requests_per_s']} req/s, "
        f"blog-service direct {direct['requests_per_s']} req/s "
        f"({ratios['direct_of_reference']:.0%} of the reference), through the gateway "
        f"{through_gateway['requests_per_s']} req/s ({ratios['gateway_of_direct']:.0%} of "
        f"direct, p99 {through_gateway['p99_ms']} ms); seed p95 {seed_result['p95_ms']} ms; "
        f"access lines: {', '.join(f'{k} {v}' for k, v in report['access_log'].items())}"
    )
    print(
        f"bench-services: {len(rounds)} rounds of {args.throughput_seconds} s, req/s: "
        + "; ".join(
            f"{name} {', '.join(str(rate) for rate in figures['rounds_requests_per_s'])}"
            for name, figures in (
                ("reference", reference),
                ("direct", direct),
                ("gateway", through_gateway),
            )
        )
        + " (medians above: the ratios are the median of each round's own)"
    )
    print(
        f"bench-services: this machine answers a Redis PING in {wake['ping_back_to_back_ms']} ms "
        f"back to back and {wake['ping_after_200ms_idle_ms']} ms after 200 ms idle (the seed "
        "scenario's requests cross five processes that have just slept)"
    )
    print(
        f"bench-services: fresh reads {fresh['requests_per_s']} req/s with a write every "
        f"{READS_PER_WRITE} reads ({fresh['writes']} writes), p99 {fresh['p99_ms']} ms, "
        f"{fresh['stale_reads']} stale reads, {fresh['errors']} errors"
    )
    print(
        "bench-services: load (1 min) before/after each: "
        + ", ".join(
            f"{name} {figures['load_before']:.2f}/{figures['load_after']:.2f}"
            for name, figures in report["scenarios"].items()
        )
        + f"; CPU per request (us): {cpu_summary(report['scenarios'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
