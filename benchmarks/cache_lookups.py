"""Batched lookups: a full-hit build's S3 requests and time, before (one round trip per read) and after.

    python benchmarks/cache_lookups.py --before fe352fd --specs 10 --delays 0 20 --rounds 3

For each code version (a commit's `src/`, frozen with `git archive`; "HEAD" is
the working tree's commit) it fills a fresh bucket of a SeaweedFS S3 server on
loopback with one build, then times full-hit builds of fresh checkouts reached
through a TCP proxy that delays every client-to-server chunk by `delay` ms:
loopback has no latency, a real bucket has tens of milliseconds per request,
which is what batching saves. Requests are counted from s3fs's own debug log
(one `CALL:` line per S3 request). The versions alternate within each round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import tomli_w
from harness import ENVIRONMENT, MLP_SPEC, REPO

sys.path.insert(0, str(REPO))
from tests.s3server import S3Server, free_port, start_s3_server  # noqa: E402

SUMMARY = re.compile(r"^tflmake: (\d+) built, (\d+) restored from cache", re.MULTILINE)


class DelayProxy:
    """A TCP proxy on loopback that holds each chunk the client sends for `delay` seconds (a slow network)."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port, self.delay, self.port = target_port, delay, free_port()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait()

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(asyncio.start_server(self._connect, "127.0.0.1", self.port))
        ready.set()
        self.loop.run_forever()

    async def _connect(self, client_reader: Any, client_writer: Any) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(client_reader, server_writer, self.delay),
                             self._pipe(server_reader, client_writer, 0.0))

    @staticmethod
    async def _pipe(reader: Any, writer: Any, delay: float) -> None:
        try:
            while chunk := await reader.read(1 << 16):
                if delay:
                    await asyncio.sleep(delay)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


def frozen_source(commit: str, work: Path) -> Path:
    folder = work / f"src-{commit}"
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "src"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder / "src"


def checkout(root: Path, specs: int, url: str, options: dict[str, Any]) -> Path:
    (root / "modelspecs").mkdir(parents=True)
    for index in range(specs):
        (root / "modelspecs" / f"m{index:03d}.toml").write_text(MLP_SPEC)
    table = {"url": url, "mode": "read-write", "storage-options": options}
    (root / "pyproject.toml").write_text(tomli_w.dumps({"tool": {"tflmake": {"cache": table}}}))
    return root


def build(root: Path, source: Path, debug: bool = False) -> tuple[float, str]:
    env = {**ENVIRONMENT, "PYTHONPATH": str(source), **({"S3FS_LOGGING_LEVEL": "DEBUG"} if debug else {})}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "tflmake"], cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise SystemExit(f"tflmake failed in {root}:\n{output[-3000:]}")
    return wall, output


def proxied(server: S3Server, port: int) -> dict[str, Any]:
    return {**server.storage_options, "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"}}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="fe352fd", help="the commit without batched lookups")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--specs", type=int, default=10)
    parser.add_argument("--delays", type=float, nargs="+", default=[0.0, 20.0], help="ms added per request")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tflmake-bench-lookups-"))
    server = start_s3_server(work / "s3")
    try:
        versions = {name: frozen_source(commit, work) for name, commit in (("before", args.before),
                                                                              ("after", args.after))}
        buckets = {}
        for name, source in versions.items():
            buckets[name] = f"s3://{server.new_bucket()}"
            build(checkout(work / f"fill-{name}", args.specs, buckets[name], server.storage_options), source)
        print(f"specs {args.specs}; load {os.getloadavg()[0]:.1f}")
        print("delay | version | requests | hit wall (s), median of rounds | rounds | restored")
        for delay in args.delays:
            proxy = DelayProxy(server.port, delay / 1000)
            walls: dict[str, list[float]] = {name: [] for name in versions}
            requests, restored = {}, {}
            for number in range(args.rounds):
                for name, source in versions.items():
                    root = checkout(work / f"hit-{name}-{delay:g}-{number}", args.specs, buckets[name],
                                    proxied(server, proxy.port))
                    wall, output = build(root, source, debug=number == 0)
                    if number == 0:
                        requests[name] = output.count("CALL:")
                    summary = SUMMARY.findall(output)
                    restored[name] = summary[-1][1] if summary else "?"
                    walls[name].append(wall)
            for name in versions:
                print(f"{delay:g} ms | {name} ({getattr(args, name)}) | {requests[name]} | "
                      f"{statistics.median(walls[name]):.2f} | {', '.join(f'{w:.2f}' for w in walls[name])} | "
                      f"{restored[name]}")
        print(f"load {os.getloadavg()[0]:.1f}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
