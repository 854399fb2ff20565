"""The servers of ``bench_access`` (ours through ``kaifang serve``, Datasette as it runs normally),
each a process of its own on a free local port, and the tools that load and watch them: wrk, curl,
and a sampler of resident memory read from /proc."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.access_data import DATA, HERE, peer_tool

ROOT = HERE.parent
LUA = HERE / "access_wrk.lua"
WRK_MISSING = ("wrk is not installed: it is the load generator of this benchmark. Install it with "
               "`apt-get install wrk` (Debian package wrk) and run again.")


def require_tools() -> None:
    for tool, hint in (("wrk", WRK_MISSING), ("curl", "curl is not installed: `apt-get install curl`.")):
        if shutil.which(tool) is None:
            raise SystemExit(hint)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    label: str
    command: list[str]
    env: dict[str, str]
    ready_path: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        log = (DATA / f"server-{self.label}.log").open("wb")
        argv = [part.replace("{port}", str(self.port)) for part in self.command]
        self.process = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **self.env}, stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited; see {log.name}")
            try:
                with urllib.request.urlopen(self.base + self.ready_path, timeout=60) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.label} did not answer within 120 s")

    def pids(self) -> list[int]:
        """The server's process and its children (uvicorn's workers)."""
        assert self.process is not None
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                queue.extend(int(child) for child in task.read_text().split())
        return found

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def ours(label: str, env: dict[str, str], workers: int) -> Server:
    command = [str(ROOT / ".venv" / "bin" / "kaifang"), "serve", "--host", "127.0.0.1", "--port", "{port}",
               "--workers", str(workers)]
    return Server(label, command, {**env, "KAIFANG_LOG_LEVEL": "INFO"}, "/api/v1/datasets/register/fields")


def datasette(db: Path) -> Server:
    """``datasette serve -i`` (immutable: how published, read-only data is served), with the time
    limit raised so that its GROUP BY can finish, and the CSV size cap lifted for the export."""
    command = [str(peer_tool("datasette")), "serve", "-i", str(db), "--host", "127.0.0.1", "--port", "{port}",
               "--setting", "sql_time_limit_ms", "60000", "--setting", "max_csv_mb", "0"]
    return Server("datasette", command, {}, f"/{db.stem}.json")


def wrk(base: str, paths: Path, seconds: float, connections: int = 16, salt: int = 0) -> dict[str, Any]:
    """One wrk run: 16 connections (clients), one wrk thread (the second core is the server's)."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(LUA), base, "--",
               str(paths), str(salt), "1"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((ln for ln in reversed(done.stdout.splitlines()) if ln.startswith("{")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(line)
    result["rps"] = result["requests"] / result["seconds"]
    return result


class RssSampler:
    """Samples the resident memory of a set of processes every 20 ms (from /proc/PID/status)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.before = {pid: rss_mb(pid) for pid in pids}
        self.peak = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.after = {pid: rss_mb(pid) for pid in self.pids}

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_mb(pid))

    def busiest(self) -> tuple[float, float, float]:
        """(before, peak, after) MB of the process that grew most (the worker that served)."""
        pid = max(self.pids, key=lambda p: self.peak[p] - self.before[p])
        return self.before[pid], self.peak[pid], self.after[pid]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def curl_download(url: str) -> tuple[int, float, float]:
    """(bytes, seconds, seconds to the first byte) of one download streamed to /dev/null."""
    done = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{size_download} %{time_total} "
                           "%{time_starttransfer} %{http_code}", url], capture_output=True, text=True, check=True)
    size, total, first, status = done.stdout.split()
    if status != "200":
        raise RuntimeError(f"{url} answered {status}")
    return int(size), float(total), float(first)
