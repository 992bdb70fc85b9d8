"""A real headless Chromium, driven over the DevTools protocol on a pipe (no WebDriver, no extra package).

``chromium --remote-debugging-pipe`` reads protocol commands from its file descriptor 3 and writes replies
and events to descriptor 4, each a JSON message ended by a NUL byte. :class:`Browser` opens a page, waits
for its load event, collects console errors, exceptions and log errors (a Content-Security-Policy
violation is one), evaluates expressions in the page and captures screenshots.

Every wait is bounded by :data:`DEADLINE` seconds from the call; a message is at most :data:`MESSAGE_LIMIT`
bytes (a full-page screenshot is the largest). Run ``python -m tests.support.browser PAGE.html OUT.png`` to
write a full-page screenshot (docs/report-example.png is made so).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEADLINE = 60.0  # seconds any one command or wait may take
MESSAGE_LIMIT = 64 << 20  # bytes in one protocol message
EVENTS_KEPT = 10_000  # events remembered while waiting for something else


class BrowserError(Exception):
    """The browser died, did not answer in time, or answered with an error."""


def chromium() -> str | None:
    """Debian's Chromium, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, executable: str, width: int = 1200, height: int = 900) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="sidtool-chromium-")
        to_browser_read, to_browser_write = os.pipe()
        from_browser_read, from_browser_write = os.pipe()
        # Above 2 and clear of 3 and 4, so that the child's dup2 onto 3 and 4 cannot clobber one with the other.
        child_read = fcntl.fcntl(to_browser_read, fcntl.F_DUPFD, 10)
        child_write = fcntl.fcntl(from_browser_write, fcntl.F_DUPFD, 10)
        for descriptor in (to_browser_read, from_browser_write):
            os.close(descriptor)

        def pipes_on_3_and_4() -> None:
            os.dup2(child_read, 3)
            os.dup2(child_write, 4)

        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--no-first-run", "--no-default-browser-check", f"--user-data-dir={self._profile.name}",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
            preexec_fn=pipes_on_3_and_4, close_fds=False,
        )  # fmt: skip
        os.close(child_read)
        os.close(child_write)
        self._send_pipe, self._receive_pipe = to_browser_write, from_browser_read
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.command("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.command("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.command(f"{domain}.enable", session=True)
        self.command(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 600,
        )

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._write({"id": self._new_id(), "method": "Browser.close"})
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()  # this process, started above, by its own handle
            self.process.wait()
        for descriptor in (self._send_pipe, self._receive_pipe):
            os.close(descriptor)
        self._stderr.close()
        self._profile.cleanup()

    # -- the protocol ----------------------------------------------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _write(self, message: dict[str, Any]) -> None:
        os.write(self._send_pipe, json.dumps(message).encode() + b"\0")

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer from Chromium within {DEADLINE} s")
            ready, _, _ = select.select([self._receive_pipe], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._receive_pipe, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited: {self.stderr()[-2000:]}")
            self._buffer += chunk
            if len(self._buffer) > MESSAGE_LIMIT:
                raise BrowserError(f"a protocol message over {MESSAGE_LIMIT} bytes")
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def command(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its reply; events met meanwhile are kept in :attr:`events`."""
        number = self._new_id()
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        self._write(message)
        deadline = time.monotonic() + DEADLINE
        while True:
            reply = self._read(deadline)
            if reply.get("id") == number:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._keep(reply)

    def _keep(self, event: dict[str, Any]) -> None:
        if "method" in event and len(self.events) < EVENTS_KEPT:
            self.events.append(event)

    def wait_for(self, method: str) -> dict[str, Any]:
        """The first event ``method`` of the page (already received, or the next one)."""
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + DEADLINE
        while True:
            event = self._read(deadline)
            self._keep(event)
            if event.get("method") == method:
                return event

    # -- what a test needs -------------------------------------------------------------------------------------

    def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        self.command("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (the protocol's, not the page's script policy)."""
        result = self.command("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and log errors (CSP violations, failed loads) seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                found.append(f"log {params['entry'].get('source')}: {params['entry'].get('text')}")
        return found

    def screenshot(self, full_page: bool = True) -> bytes:
        """A PNG of the viewport, or of the whole page."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.command("Page.getLayoutMetrics", session=True)["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            params["captureBeyondViewport"] = True
        return base64.b64decode(self.command("Page.captureScreenshot", session=True, **params)["data"])

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (PNG specification, 11.2.2)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


if __name__ == "__main__":
    page, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    executable = chromium()
    if executable is None:
        sys.exit("chromium is not installed")
    with Browser(executable, width=int(os.environ.get("WIDTH", "1100"))) as browser:
        browser.open(page.as_uri())
        out.write_bytes(browser.screenshot())
        print(f"{out}: {png_size(out.read_bytes())}; errors: {browser.errors()}")
