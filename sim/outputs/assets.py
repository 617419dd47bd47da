"""Serving the classroom app offline: Solara's front-end assets, fetched once from npm.

Solara's server loads its JavaScript from a CDN on demand, so with no internet the page stays
on "Loading app". Its asset proxy reads a cache directory first; we fill that cache with the
exact packages it asks for (`npm pack`, unpacked into `<cache>/<name>@<version>/`), outside the
repository, in `~/.cache/blocsim/solara-assets` (or `$BLOCSIM_CACHE/solara-assets`). Then
`blocsim app` starts `solara run` on 127.0.0.1 with that cache and telemetry off.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from sim.config import cache_dir
from sim.errors import BlocsimError

DEFAULT_PORT = 8765
HOST = "127.0.0.1"
# What Solara 1.64.1 + Mesa 3.5.1 request (measured: DESIGN.md, "Pitfalls"); "name@version"
# is both the npm spec and the cache folder Solara reads.
PACKAGES = (
    "@widgetti/solara-vuetify-app@10.1.1",
    "@widgetti/solara-vuetify3-app@5.2.0",
    "@widgetti/vue-grid-layout@2.3.13-alpha.2",
    "requirejs@2.3.6",
    "font-awesome@4.5.0",
    "vega@5",
    "vega-lite@5",
    "vega-embed@6",
    "katex@0.16.9",
    "mermaid@10.8.0",
)
APP_FILE = Path(__file__).resolve().parent / "app.py"


def assets_dir() -> Path:
    return cache_dir() / "solara-assets"


def missing_assets(cache: Path | None = None) -> list[str]:
    """The packages not yet unpacked in the cache (a folder with a package.json)."""
    cache = cache or assets_dir()
    return [spec for spec in PACKAGES if not (cache / spec / "package.json").is_file()]


def prepare_assets(cache: Path | None = None) -> Path:
    """Fill the asset cache from the npm registry (~6 s, ~200 MB); a filled cache is kept.

    Each package is unpacked beside its final place and renamed in, so an interrupted run
    leaves no half package that would pass for a whole one.
    """
    cache = cache or assets_dir()
    missing = missing_assets(cache)
    if not missing:
        return cache
    npm = shutil.which("npm")
    if npm is None:
        raise BlocsimError(
            "npm is needed once to fetch the app's front-end assets (apt-get install npm)",
            field="assets",
        )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="blocsim-assets-") as scratch:
        for spec in missing:
            _fetch(npm, spec, cache, Path(scratch))
    requirejs = cache / "requirejs@2.3.6"
    if not (requirejs / "require.min.js").is_file():
        shutil.copyfile(requirejs / "require.js", requirejs / "require.min.js")
    return cache


def _fetch(npm: str, spec: str, cache: Path, scratch: Path) -> None:
    packed = subprocess.run(
        [npm, "pack", spec, "--silent", "--pack-destination", str(scratch)],
        capture_output=True,
        text=True,
        cwd=scratch,
    )
    if packed.returncode != 0:
        reason = (packed.stderr.strip().splitlines() or ["npm pack failed"])[-1]
        raise BlocsimError(f"could not fetch {spec} from npm: {reason}", field="assets")
    tarball = scratch / packed.stdout.strip().splitlines()[-1]
    target = cache / spec
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            parts = Path(member.name).parts[1:]  # --strip-components=1
            if not parts:
                continue
            member.name = str(Path(*parts))
            archive.extract(member, partial, filter="data")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def app_environment(data_dir: str | None = None) -> dict[str, str]:
    """The environment `solara run` needs here: the asset cache, a scratch home, no telemetry,
    no "runs on Solara" badge."""
    env = dict(os.environ)
    env["SOLARA_ASSETS_PROXY_CACHE_DIR"] = str(assets_dir())
    env["SOLARA_HOME"] = str(cache_dir() / "solara-home")
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    env["SOLARA_THEME_SHOW_BANNER"] = "False"  # its corner badge covers the state card
    if data_dir:
        env["BLOCSIM_DATA"] = str(Path(data_dir).expanduser().resolve())
    return env


def app_command(port: int) -> list[str]:
    """`solara run sim/app.py` on 127.0.0.1:`port`, production mode, no browser, no update check."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(APP_FILE),
        "--host",
        HOST,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]


def check_port(port: int) -> None:
    """Raise a `BlocsimError` (field `--port`) unless `port` is a port number free on HOST:
    checked by binding it, before the app is announced, so a port in use is one line, not a
    server that starts and dies."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise BlocsimError(f"port {port} is not a port number (1-65535)", field="--port")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            raise BlocsimError(
                f"port {port} on {HOST} is in use; choose another with --port", field="--port"
            ) from None


def serve(port: int = DEFAULT_PORT, data_dir: str | None = None) -> int:
    """Start the classroom app in this process; it runs until stopped (Ctrl-C)."""
    check_port(port)
    try:
        import mesa.visualization  # noqa: F401
        import solara  # noqa: F401
    except ImportError:
        raise BlocsimError(
            "the app needs the 'app' extra: pip install -e '.[app]'", field="app"
        ) from None
    prepare_assets()
    print(f"blocsim classroom app: http://{HOST}:{port} (Ctrl-C stops it)", flush=True)
    command = app_command(port)
    # Become the server, so Ctrl-C and a signal to this process reach it directly.
    os.execve(command[0], command, app_environment(data_dir))
