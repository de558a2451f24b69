"""Start JupyterLab, Notebook 7 or Voilà from the book's environment for the live browser tests.

Each server listens on 127.0.0.1 on a free port with a random token, runs in its own
process group and is killed at exit.  Its user-level state (settings, workspaces,
runtime files, config) lives in a temporary directory, so the tests see only what
the environment ships (e.g. the Makefile's `etc/jupyter/labconfig` override), never
the developer's ~/.jupyter, and nothing the browser does is written back to them.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise TimeoutError(f"no answer from {url} after {timeout} s:\n{log.read_text()[-4000:]}")


@contextlib.contextmanager
def jupyter_server(app: str, root: Path, state: Path, target: str | None = None,
                   user_settings: dict | None = None, timeout: float = 90):
    """Run ``jupyter lab``, ``jupyter notebook`` or ``voila <target>`` serving ``root``.

    Yields ``(base_url, token)``; ``base_url`` ends with '/'.  ``user_settings`` maps a
    plugin id (``@jupyterlab/docmanager-extension:plugin``) to the user settings JSON
    written into the server's private settings directory.
    """
    port, token = free_port(), secrets.token_hex(16)
    state.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for key in ("NEAROPT_STATIC_PREVIEW", "JUPYTER_TOKEN", "JUPYTERHUB_API_TOKEN"):
        env.pop(key, None)
    settings_dir = state / "user-settings"
    env.update(
        JUPYTER_PREFER_ENV_PATH="1",
        JUPYTER_CONFIG_DIR=str(state / "config"),
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
        JUPYTER_DATA_DIR=str(state / "data"),
        JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
        JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
        IPYTHONDIR=str(state / "ipython"),
        MPLCONFIGDIR=str(state / "mpl"),
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    for plugin, values in (user_settings or {}).items():
        package, name = plugin.split(":")
        path = settings_dir / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))

    common = [f"--port={port}", "--no-browser"]
    if app in ("lab", "notebook"):
        cmd = [str(VENV_BIN / "jupyter"), app, *common, "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--ServerApp.open_browser=False", "--ServerApp.allow_root=True",
               "--expose-app-in-browser"]  # window.jupyterapp, for the tests' commands
        if app == "lab":  # no news or update checks (nothing leaves the machine)
            cmd += ["--LabApp.news_url=None",
                    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                    "--LabApp.extension_manager=readonly"]
        ready = f"http://127.0.0.1:{port}/api/status?token={token}"
    elif app == "voila":
        cmd = [str(VENV_BIN / "voila"), str(target), *common, "--Voila.ip=127.0.0.1",
               f"--token={token}", f"--Voila.root_dir={root}"]
        ready = f"http://127.0.0.1:{port}/?token={token}"
    else:
        raise ValueError(f"app must be 'lab', 'notebook' or 'voila', got {app!r}")

    log = state / f"{app}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_http(ready, proc, log, timeout)
        yield f"http://127.0.0.1:{port}/", token
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
