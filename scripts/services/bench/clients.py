"""`make bench-gateway-clients`: the HTTP client libraries side by side on the
gateway's hot path, to choose the one the gateway uses (services/README.md).

One uvicorn process serves a fixed ~4 kB JSON answer (the size of a cached
page of post summaries); this process drives it with 50 concurrent requests
through each client in turn, pooled keep-alive connections, for a fixed time.
Printed per client: requests/s, p50/p99 latency, and the client's own CPU time
per request (this process's CPU over the run), which is what the gateway pays.
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import httpx

HERE = Path(__file__).resolve().parent
CONCURRENCY = 50


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def drive(name: str, fetch, seconds: float) -> dict:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < deadline:
            began = time.perf_counter()
            await fetch()
            latencies.append(time.perf_counter() - began)

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    ordered = sorted(latencies)
    return {
        "client": name,
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
        "client_cpu_us_per_request": round(cpu / max(len(latencies), 1) * 1e6, 1),
    }


async def with_aiohttp(url: str, seconds: float) -> dict:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:

        async def fetch() -> None:
            async with session.get(url) as response:
                await response.read()
                assert response.status == 200

        await fetch()
        return await drive(f"aiohttp {aiohttp.__version__}", fetch, seconds)


async def with_httpx(url: str, seconds: float) -> dict:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits) as client:

        async def fetch() -> None:
            response = await client.get(url)
            assert response.status_code == 200

        await fetch()
        return await drive(f"httpx {httpx.__version__}", fetch, seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=18931)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    upstream = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "fixed_answer:app", "--port", str(args.port),
         "--log-level", "warning", "--no-access-log"],
        cwd=HERE, env={**os.environ, "PYTHONPATH": str(HERE)},
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{args.port}/answer"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url, timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        results = [asyncio.run(run(url, args.seconds)) for run in (with_aiohttp, with_httpx)]
    finally:
        upstream.terminate()
        upstream.wait(10)
    for row in results:
        print(
            f"{row['client']:<16} {row['requests_per_s']:>8} req/s  p50 {row['p50_ms']:>6} ms  "
            f"p99 {row['p99_ms']:>6} ms  client CPU {row['client_cpu_us_per_request']:>6} µs/req"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
