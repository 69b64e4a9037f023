"""Upstream glance-api (``glance==33.0.0``) on 127.0.0.1, for tests.

Run by ``scripts/glance-api.sh PORT`` with the Python of the Glance venv
(``scripts/glance-venv.sh``); ``0`` picks a free port.  Glance's own WSGI
application (``glance.wsgi.api:application``) is served by waitress, with:

* a temporary directory holding everything: ``glance-api.conf``, the paste
  file, the policy file, the SQLite database (``glance-manage db_sync`` runs
  first) and the file stores of the default backend ``fs`` and of the reserved
  ``os_glance_staging_store`` / ``os_glance_tasks_store``;
* no Keystone: upstream's ``keystone`` paste pipeline without ``authtoken``,
  so Glance's ``ContextMiddleware`` takes the caller from the request headers
  (``X-Identity-Status: Confirmed``, ``X-Project-Id``, ``X-User-Id``,
  ``X-Roles``; ``admin`` among the roles makes an admin);
* the deployment imspatch's ``GLANCE`` rule set models (SPEC 6.1): no
  ``schema-image.json``, ``show_multiple_locations`` False, property and tag
  quotas 128, and every policy rule allowing everything except
  ``context_is_admin`` (``role:admin``), which says who is an admin.

The first line on standard output is ``listening on http://127.0.0.1:PORT``,
printed once ``GET /v2/images`` answers 200; logs go to standard error.
SIGTERM or SIGINT stops the server; the temporary directory is removed on
every exit.  Exit status: 0 after a signal, 1 if Glance did not come up.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType

#: The pipeline the launcher adds to upstream's paste file: upstream's
#: ``keystone`` flavour without ``authtoken``.
FLAVOR = "headers"
#: How long Glance may take to answer its first request.
READY_TIMEOUT = 120.0
#: Headers of the readiness probe (an admin, as any caller could be).
PROBE_HEADERS = {
    "X-Identity-Status": "Confirmed",
    "X-Project-Id": "imspatch-launcher",
    "X-User-Id": "imspatch-launcher",
    "X-Roles": "admin",
    "Accept": "application/json",
}


def glance_api_conf(tmp: Path) -> str:
    """``glance-api.conf``: SQLite and file stores under ``tmp``, no Keystone."""
    return f"""\
[DEFAULT]
enabled_backends = fs:file
use_stderr = true
image_property_quota = 128
image_tag_quota = 128
show_multiple_locations = false

[database]
connection = sqlite:///{tmp / "glance.sqlite"}

[glance_store]
default_backend = fs

[fs]
filesystem_store_datadir = {tmp / "images"}

[os_glance_staging_store]
filesystem_store_datadir = {tmp / "staging"}

[os_glance_tasks_store]
filesystem_store_datadir = {tmp / "tasks"}

[paste_deploy]
flavor = {FLAVOR}
config_file = {tmp / "glance-api-paste.ini"}

[oslo_policy]
policy_file = {tmp / "policy.yaml"}

[oslo_messaging_notifications]
driver = noop
"""


def paste_ini(upstream: Path, out: Path) -> None:
    """Upstream's paste file plus the ``headers`` flavour (keystone minus authtoken)."""
    paste = configparser.ConfigParser(interpolation=None)
    paste.optionxform = str  # type: ignore[assignment,method-assign]
    paste.read(upstream)
    keystone = paste["composite:api"]["keystone"].split()
    paste["composite:api"][FLAVOR] = " ".join(f for f in keystone if f != "authtoken")
    paste[f"composite:glance-api-{FLAVOR}"] = dict(paste["composite:glance-api-keystone"])
    with out.open("w") as file:
        paste.write(file)


def policy_yaml(out: Path) -> None:
    """Every rule Glance registers allows everything, except who is an admin."""
    import glance.policies  # noqa: PLC0415

    rules = {
        rule.name: ""
        for rule in glance.policies.list_rules()
        if rule.check_str and rule.name != "context_is_admin"
    }
    out.write_text(json.dumps(rules, indent=1, sort_keys=True))  # JSON is YAML


def announce(port: int, failed: threading.Event) -> None:
    """Print the URL once Glance answers; otherwise stop the server."""
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        # The URL is http://127.0.0.1:PORT, built above.
        request = urllib.request.Request(f"{url}/v2/images", headers=PROBE_HEADERS)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                if answer.status == 200:
                    print(f"listening on {url}", flush=True)
                    return
        except OSError:
            pass
        time.sleep(0.1)
    print(f"glance-api did not answer on {url} within {READY_TIMEOUT:.0f} s", file=sys.stderr)
    failed.set()
    os.kill(os.getpid(), signal.SIGTERM)


def serve(port: int, tmp: Path) -> int:
    (tmp / "glance-api.conf").write_text(glance_api_conf(tmp))
    paste_ini(
        Path(sys.prefix, "etc", "glance", "glance-api-paste.ini"), tmp / "glance-api-paste.ini"
    )
    policy_yaml(tmp / "policy.yaml")
    for store in ("images", "staging", "tasks"):
        (tmp / store).mkdir()
    subprocess.run(  # noqa: S603 (the venv's own glance-manage)
        [
            Path(sys.prefix, "bin", "glance-manage"),
            "--config-file",
            tmp / "glance-api.conf",
            "db",
            "sync",
        ],
        check=True,
        stdout=sys.stderr,
    )

    os.environ["OS_GLANCE_CONFIG_DIR"] = str(tmp)
    import waitress  # noqa: PLC0415
    from glance.common import wsgi_app  # noqa: PLC0415
    from glance.wsgi.api import application  # noqa: PLC0415  (reads the config)
    from oslo_config import cfg  # noqa: PLC0415

    found = cfg.CONF.find_file("schema-image.json")
    if found is not None:
        print(f"{found} would add properties to Glance's image schema", file=sys.stderr)
        return 1
    try:
        server = waitress.create_server(application, host="127.0.0.1", port=port, threads=4)
    except OSError as exc:
        print(f"glance-api: cannot listen on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 1
    failed = threading.Event()
    threading.Thread(target=announce, args=(server.effective_port, failed), daemon=True).start()
    server.run()  # returns on SystemExit / KeyboardInterrupt
    # What uWSGI would do at exit; as an atexit hook (outside uWSGI) it fails,
    # creating its thread pool once the interpreter no longer allows it.
    wsgi_app.drain_workers()
    return 1 if failed.is_set() else 0


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int, help="TCP port on 127.0.0.1; 0 picks a free one")
    port = parser.parse_args().port
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    tmp = Path(tempfile.mkdtemp(prefix="imspatch-glance-api-"))
    try:
        return serve(port, tmp)
    except subprocess.CalledProcessError as exc:
        print(f"glance-api: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
