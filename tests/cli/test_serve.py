"""``hamflex serve``: the address it prints and the token beyond localhost (a real process)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from hamflex.cli.serve import access_token, is_loopback
from tests.support.web_server import free_port


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                                ("127.0.0.2", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                                ("clinic.local", False)])
def test_only_loopback_addresses_go_without_a_token(host, loopback):
    assert is_loopback(host) is loopback
    token = access_token(host, None)
    assert (token is None) is loopback
    assert access_token(host, "given") == "given"


def test_serving_beyond_localhost_prints_a_token_that_every_request_needs(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "hamflex", "serve", "--host", "0.0.0.0", "--port", str(port),
               "--db", str(tmp_path / "h.sqlite3"), "--data", str(tmp_path / "data")]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = process.stderr.readline()
        match = re.fullmatch(rf"hamflex: serving on http://0\.0\.0\.0:{port}/\?token=(\S+)\n", line)
        assert match, line
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.get(f"{url}/api/people")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert answer.status_code == 401
        assert httpx.get(f"{url}/api/people", params={"token": match.group(1)}).json() == []
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_ctrl_c_stops_the_server_with_exit_0_and_one_line(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "hamflex", "serve", "--port", str(port),
               "--db", str(tmp_path / "h.sqlite3"), "--data", str(tmp_path / "data")]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/api/people").json() == []
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    assert stderr.splitlines() == [f"hamflex: serving on http://127.0.0.1:{port}/", "hamflex: stopped"], stderr
