"""`scripts/serve`, the README's first command: it says "running" only once the product answers,
and a taken port gets a message saying how to choose another instead of a banner and errors."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from screener.config import ROOT

from .conftest import free_port

pytestmark = pytest.mark.server

SERVE = str(ROOT / "scripts" / "serve")


def _env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SECRET_KEY", "SCREENER_BASE_URL",
                        "SCREENER_TRUSTED_HOSTS", "SCREENER_TEST_DATABASE_URL")}
    return {**env, "SCREENER_INSTANCE": str(tmp_path / "instance"),
            "SCREENER_PORT": str(port), "SCREENER_DEMO_PORT": "off", **extra}


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_a_taken_port_is_named_with_the_way_to_choose_another(
    tmp_path: Path, taken_port: int
) -> None:
    done = subprocess.run([SERVE], env=_env(tmp_path, taken_port), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1
    assert f"Port {taken_port} on 127.0.0.1 is already in use" in done.stderr
    assert "SCREENER_PORT=" in done.stderr
    assert "running" not in done.stdout
    # Nothing was started or written: the check comes before the database.
    assert not (tmp_path / "instance" / "screener.db").exists()


def test_a_taken_demo_port_is_named_with_its_own_setting(tmp_path: Path, taken_port: int) -> None:
    done = subprocess.run(
        [SERVE], env=_env(tmp_path, free_port(), SCREENER_DEMO_PORT=str(taken_port)),
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert f"Port {taken_port}" in done.stderr
    assert "SCREENER_DEMO_PORT=off" in done.stderr
    assert "running" not in done.stdout


@pytest.mark.parametrize("public", [False, True], ids=["loopback", "public-name"])
def test_running_is_printed_once_the_product_answers(tmp_path: Path, public: bool) -> None:
    """Also when served under a public name (SCREENER_BASE_URL, SCREENER_TRUSTED_HOSTS): the
    health check is asked under that name, which the product accepts."""
    port = free_port()
    extra = ({"SCREENER_BASE_URL": "https://clinic.example",
              "SCREENER_TRUSTED_HOSTS": "clinic.example"} if public else {})
    proc = subprocess.Popen([SERVE], env=_env(tmp_path, port, **extra), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert proc.stdout is not None
    seen: list[str] = []
    answered = False
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "Screener is running" in line:
                # At the moment the banner appears, the product already answers.
                host = {"Host": "clinic.example"} if public else {}
                for path in ("/healthz", "/c/demo/"):
                    asked = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=host)
                    with urllib.request.urlopen(asked, timeout=5) as r:  # noqa: S310 (http)
                        assert r.status == 200
                answered = True
            if "Stop it with Ctrl+C" in line:
                break
        assert answered, "".join(seen)
        banner = "".join(seen)
        assert f"http://127.0.0.1:{port}/c/demo/" in banner
        assert "Demo dashboard login: " in banner
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()
