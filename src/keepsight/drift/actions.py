"""What a fired policy runs: a command (the training pipeline's entry point) or a webhook (JSON POST).

Failures are recorded in the request, never raised: monitoring must go on when a CI server is down.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TAIL = 2000  # characters of output kept in the request


@dataclass(frozen=True)
class ActionResult:
    kind: str  # command | webhook
    target: str
    ok: bool
    detail: str  # exit code / HTTP status / error
    output: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "ok": self.ok, "detail": self.detail, "output": self.output}


def run_command(argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> ActionResult:
    """Run ``argv`` (no shell) with ``env`` added to the environment."""
    target = " ".join(argv)
    try:
        proc = subprocess.run(argv, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except FileNotFoundError:
        return ActionResult("command", target, False, f"program not found: {argv[0]}")
    except subprocess.TimeoutExpired:
        return ActionResult("command", target, False, f"timed out after {timeout:g} s")
    output = (proc.stdout + proc.stderr)[-_TAIL:]
    return ActionResult("command", target, proc.returncode == 0, f"exit code {proc.returncode}", output)


def post_webhook(url: str, body: dict[str, Any], *, timeout: float) -> ActionResult:
    """POST ``body`` as JSON to ``url``; any 2xx answer is success."""
    data = json.dumps(body, default=str).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "keepsight-drift"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL is from the config
            text = response.read(_TAIL).decode("utf-8", "replace")
            return ActionResult("webhook", url, 200 <= response.status < 300, f"HTTP {response.status}", text)
    except urllib.error.HTTPError as exc:
        return ActionResult("webhook", url, False, f"HTTP {exc.code}", exc.read(_TAIL).decode("utf-8", "replace"))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return ActionResult("webhook", url, False, f"unreachable: {reason}")
