"""A real headless browser for tests: Debian's ``chromium`` driven over the Chrome
DevTools protocol on a pipe (``--remote-debugging-pipe``: no port, no websocket, no
extra package, and never a browser download).

One :class:`Browser` per test module is enough; each :meth:`Browser.page` is a fresh
tab that records uncaught JavaScript exceptions and console errors, evaluates
expressions and waits for the app to render. When ``chromium`` is not installed the
fixture that starts it skips loudly (``.ci/run`` installs it).
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

#: Flags that work headless in a container, without network side traffic.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000",
)


def chromium_or_skip() -> str:
    """The chromium binary, or a loud pytest skip naming what is missing."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("browser tests need Debian's chromium (apt-get install chromium; .ci/run installs it)")
    return exe


class BrowserError(AssertionError):
    pass


class Browser:
    """A headless chromium with a DevTools session over a pipe."""

    def __init__(self, exe: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4: put the pipe ends
        # there in the child (first moved above 10, so the two dup2 cannot collide).
        a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def child() -> None:
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._proc = subprocess.Popen(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child, pass_fds=(3, 4),
        )
        os.close(a)
        os.close(b)
        self._next_id = 0
        self._lock = threading.Lock()
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.send("Target.setDiscoverTargets", {"discover": False})

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        q = self._replies.get(msg["id"])
                    if q is not None:
                        q.put(msg)
                else:
                    session = msg.get("sessionId", "")
                    with self._lock:
                        self._events.setdefault(session, []).append(msg)

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            mid = self._next_id
            q: queue.Queue[dict[str, Any]] = queue.Queue()
            self._replies[mid] = q
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        try:
            reply = q.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"chromium did not answer {method} within {timeout} s") from None
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def events(self, session: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events.get(session, []))

    def page(self, url: str) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        self.send("Runtime.enable", session=session)
        self.send("Page.enable", session=session)
        self.send("Log.enable", session=session)
        page.goto(url)
        return page

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (BrowserError, OSError):
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        shutil.rmtree(self._profile, ignore_errors=True)


class Page:
    """One tab: navigate, evaluate, wait, and the JavaScript errors it raised."""

    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser = browser
        self.target = target
        self.session = session

    def goto(self, url: str) -> None:
        self.browser.send("Page.navigate", {"url": url}, session=self.session)

    def evaluate(self, expression: str) -> Any:
        result = self.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                   session=self.session)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Polls ``expression`` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                text = self.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
                raise BrowserError(f"timed out waiting for {expression}; page text:\n{text}\nerrors: {self.errors()}")
            time.sleep(0.1)

    def text(self) -> str:
        return str(self.evaluate("document.body.innerText"))

    def errors(self) -> list[str]:
        """Uncaught exceptions and console errors so far, in words."""
        out = []
        for e in self.browser.events(self.session):
            if e["method"] == "Runtime.exceptionThrown":
                d = e["params"]["exceptionDetails"]
                out.append(str((d.get("exception") or {}).get("description") or d.get("text")))
            elif e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error":
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in e["params"]["args"]))
            elif e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error":
                out.append(f"{e['params']['entry'].get('source')}: {e['params']['entry'].get('text')} "
                           f"{e['params']['entry'].get('url', '')}")
        return out

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def file_url(path: Path) -> str:
    return path.resolve().as_uri()
