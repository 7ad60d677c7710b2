"""Every file under deploy/ checked as far as this machine allows: systemd units verified
and the web unit's command run, the compose file against the Compose schema, the backup
script run against PostgreSQL, the Dockerfile's inputs and command."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.helpers import free_port, wait_for_http

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, "deploy")
BIN = os.path.dirname(sys.executable)
UNITS = ["portal-web@.service", "portal-worker.service", "portal-cron.service",
         "portal-mail-in.service"]  # fmt: skip


def _unit(name):
    """A unit file with /opt/portal pointed at this checkout and its virtualenv."""
    text = Path(os.path.join(DEPLOY, "systemd", name)).read_text()
    return text.replace("/opt/portal/.venv/bin", BIN).replace("/opt/portal", ROOT)


def _exec_start(text):
    return re.search(r"^ExecStart=(.*)$", text, re.M).group(1)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_systemd_units_verify(tmp_path):
    names = []
    for name in UNITS:
        target = name.replace("@.", "@8001.")
        (tmp_path / target).write_text(_unit(name))
        names.append(str(tmp_path / target))
    result = subprocess.run(["systemd-analyze", "verify", *names], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_procfile_process_has_a_unit_and_a_compose_service():
    procfile = Path(os.path.join(ROOT, "Procfile")).read_text()
    processes = {line.split(":", 1)[0] for line in procfile.splitlines() if line.strip()}
    compose = Path(os.path.join(DEPLOY, "compose.yaml")).read_text()
    units = {name.split(".")[0].removeprefix("portal-").rstrip("@") for name in UNITS}
    for process in processes - {"redis"}:  # the embedded Redis is for `make run` only
        assert process in units, f"no systemd unit for {process}"
        service = "web1" if process == "web" else process
        assert re.search(rf"^  {re.escape(service)}:$", compose, re.M), f"no service {process}"


def test_web_unit_command_serves_the_app(server_env, tmp_path):
    port = free_port()
    command = shlex.split(_exec_start(_unit("portal-web@.service")).replace("%i", str(port)))
    assert command[0] == os.path.join(BIN, "gunicorn")
    env = {**server_env, "PORTAL_INSTANCE_PATH": str(tmp_path)}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        body = wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=60, process=process)
        assert b'"database":"ok"' in body
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)


def test_compose_file_matches_the_compose_schema():
    result = subprocess.run(
        [os.path.join(BIN, "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
         os.path.join(DEPLOY, "compose.yaml")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_nginx_uses_the_shared_locations():
    compose = Path(os.path.join(DEPLOY, "compose.yaml")).read_text()
    for name in ("compose.conf", "portal-locations.conf"):
        assert f"./nginx/{name}:" in compose
        assert os.path.exists(os.path.join(DEPLOY, "nginx", name))


def test_dockerfile_copies_what_exists_and_runs_the_procfile_web_line():
    dockerfile = Path(os.path.join(ROOT, "Dockerfile")).read_text()
    for line in re.findall(r"^COPY (.+) \S+$", dockerfile, re.M):
        for source in line.split():
            assert os.path.exists(os.path.join(ROOT, source)), f"COPY {source}: missing"
    web = Path(os.path.join(ROOT, "Procfile")).read_text().split("web:", 1)[1].splitlines()[0]
    for flag in ("--worker-class gevent", "--keep-alive 75", "--no-control-socket", "wsgi:app"):
        assert flag in web
        assert all(part in dockerfile for part in flag.split()), f"Dockerfile CMD lacks {flag}"


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres") or not shutil.which("pg_dump"),
    reason="the backup script dumps PostgreSQL (set DATABASE_URL)",
)
def test_backup_script_dumps_the_database_and_the_uploads(app, people, tmp_path):
    uploads = tmp_path / "uploads"
    (uploads / "ab").mkdir(parents=True)
    (uploads / "ab" / "stored-file").write_bytes(b"contract")
    env = {**os.environ, "UPLOAD_DIR": str(uploads), "KEEP": "1"}
    for run in range(2):
        if run:
            time.sleep(1.1)  # backups are named by the second
        result = subprocess.run(
            [os.path.join(DEPLOY, "backup.sh"), str(tmp_path / "backups")],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    files = sorted(os.listdir(tmp_path / "backups"))
    assert len(files) == 2, f"KEEP=1 keeps one of each: {files}"
    dump = next(f for f in files if f.endswith(".dump"))
    listing = subprocess.run(
        ["pg_restore", "--list", str(tmp_path / "backups" / dump)], capture_output=True, text=True
    )
    assert listing.returncode == 0 and "TABLE DATA public users" in listing.stdout
    archive = next(f for f in files if f.endswith(".tar.gz"))
    with tarfile.open(tmp_path / "backups" / archive) as tar:
        assert "./ab/stored-file" in tar.getnames()
