"""The local stack: start (and install, when missing) the servers twinhood needs on this machine.

`up()` brings up three servers unless the user named their own through `TWINHOOD_NEO4J_URI`,
`TWINHOOD_DATABASE_URL` or `TWINHOOD_MQTT_URL`, in which case it only checks that they answer:

- the graph: ArcadeDB with its Bolt plugin, from the `arcadedb-embedded` wheel (bundled JRE), in
  its own data directory under `TWINHOOD_HOME`, with a PID file;
- PostgreSQL with PostGIS and pg_trgm, from Debian's packages (`postgresql-<v>-postgis-3`);
- Mosquitto, from Debian's packages, with persistence under `TWINHOOD_HOME`.

Installing needs root (`apt-get`); everything else runs as the current user.
"""

from __future__ import annotations

import getpass
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import neo4j
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from graph.errors import StackError
from graph.settings import GraphSettings
from ingest.settings import IngestSettings
from spatial.settings import SpatialSettings

log = logging.getLogger(__name__)


class StackSettings(BaseSettings):
    """Where the local servers keep their files."""

    model_config = SettingsConfigDict(env_prefix="TWINHOOD_", extra="ignore")

    home: Path = Field(
        Path.home() / ".local" / "state" / "twinhood",
        description="data directories, logs and PID files of the local servers",
    )
    arcadedb_heap: str = Field("2g", pattern=r"^\d+[mg]$", description="maximum Java heap of ArcadeDB")
    start_timeout_s: float = 90.0


@dataclass(frozen=True)
class Service:
    """What `up` found or did for one server."""

    name: str
    url: str
    action: str  # "started", "running", "external"


Report = Callable[[str], None]


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _wait(what: str, ready: Callable[[], bool], timeout: float, log_file: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except Exception as exc:  # any failure here only means "not ready yet"
            last = str(exc)
        time.sleep(0.5)
    tail = log_file.read_text(errors="replace")[-1500:] if log_file and log_file.exists() else ""
    raise StackError(what, f"not ready after {timeout:.0f} s: {last}\n{tail}".rstrip())


def _alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


_apt_updated = False


def _apt_install(*packages: str, report: Report) -> None:
    global _apt_updated
    if os.geteuid() != 0:
        raise StackError(
            "apt", f"{' '.join(packages)} missing; install them as root: apt-get install {' '.join(packages)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    report(f"installing {' '.join(packages)} from Debian's packages")
    try:
        if not _apt_updated:
            subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
            _apt_updated = True
        subprocess.run(["apt-get", "install", "-y", "-q", *packages], check=True, env=env, capture_output=True)
    except subprocess.CalledProcessError as exc:
        raise StackError("apt", f"apt-get failed: {exc.stderr.decode(errors='replace')[-800:]}") from exc


# --- graph: ArcadeDB over Bolt -----------------------------------------------------------------


def _graph_ready(settings: GraphSettings) -> bool:
    bolt = urlsplit(settings.neo4j_uri)
    if bolt.scheme in ("bolt", "neo4j") and not _port_open(bolt.hostname or "127.0.0.1", bolt.port or 7687):
        return False
    auth = (settings.neo4j_user, settings.neo4j_password.get_secret_value())
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=auth) as driver:
        records, _, _ = driver.execute_query("RETURN 1 AS ok", database_=settings.neo4j_database)
        return bool(records[0]["ok"] == 1)


def arcadedb_command(settings: GraphSettings, stack: StackSettings) -> list[str]:
    """Return the command line that runs ArcadeDB with Bolt as configured."""
    import arcadedb_embedded

    pkg = Path(arcadedb_embedded.__file__).parent
    home = stack.home / "arcadedb"
    bolt = urlsplit(settings.neo4j_uri)
    http = urlsplit(settings.graph_admin_url or "http://127.0.0.1:2480")
    return [
        str(pkg / "jre" / "bin" / "java"),
        "-Xms256m",
        f"-Xmx{stack.arcadedb_heap}",
        "-cp",
        f"{pkg / 'jars'}/*",
        f"-Darcadedb.server.rootPath={home}",
        f"-Darcadedb.server.databaseDirectory={home / 'databases'}",
        f"-Darcadedb.server.rootPassword={settings.neo4j_password.get_secret_value()}",
        f"-Darcadedb.server.httpIncomingHost={http.hostname}",
        f"-Darcadedb.server.httpIncomingPort={http.port or 2480}",
        "-Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
        f"-Darcadedb.bolt.host={bolt.hostname}",
        f"-Darcadedb.bolt.port={bolt.port or 7687}",
        f"-Darcadedb.server.defaultDatabases={settings.neo4j_database}[{settings.neo4j_user}]",
        "com.arcadedb.server.ArcadeDBServer",
    ]


def up_graph(settings: GraphSettings, stack: StackSettings, report: Report) -> Service:
    """Start ArcadeDB unless it (or the user's own server) already answers."""
    if settings.explicit_server:
        _wait("graph server", lambda: _graph_ready(settings), 15)
        return Service("graph", settings.neo4j_uri, "external")
    home = stack.home / "arcadedb"
    pid_file, log_file = home / "arcadedb.pid", home / "arcadedb.log"
    bolt = urlsplit(settings.neo4j_uri)
    if _alive(pid_file) or _port_open(bolt.hostname or "127.0.0.1", bolt.port or 7687):
        _wait("graph server", lambda: _graph_ready(settings), stack.start_timeout_s, log_file)
        return Service("graph", settings.neo4j_uri, "running")
    home.mkdir(parents=True, exist_ok=True)
    report(f"starting ArcadeDB (Bolt {settings.neo4j_uri}), data in {home}")
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            arcadedb_command(settings, stack),
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))
    # the Bolt port opens before the databases exist: ready means a real query answers
    _wait("ArcadeDB", lambda: proc.poll() is None and _graph_ready(settings), stack.start_timeout_s, log_file)
    return Service("graph", settings.neo4j_uri, "started")


# --- PostgreSQL + PostGIS ----------------------------------------------------------------------


def _pg_versions() -> list[str]:
    root = Path("/etc/postgresql")
    return sorted((p.name for p in root.iterdir() if p.is_dir()), key=int) if root.exists() else []


def _as_postgres(sql: str) -> str:
    done = subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-qtAX", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise StackError("PostgreSQL", f"{sql!r} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _pg_ready(url: str) -> bool:
    with psycopg.connect(url, connect_timeout=3) as conn:
        return conn.execute("SELECT postgis_version()").fetchone() is not None


def _provision_database(url: str) -> None:
    """Create the role, database and extensions named by `url` (as the postgres superuser)."""
    parsed = make_url(url)
    role, password, db = parsed.username, parsed.password, parsed.database
    if not (role and password and db) or not all(x.replace("_", "").isalnum() for x in (role, db)):
        raise StackError("PostgreSQL", f"cannot provision from {parsed!r}: need plain user, password, db")
    if _as_postgres(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'") != "1":
        quoted = password.replace("'", "''")
        _as_postgres(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{quoted}'")
    if _as_postgres(f"SELECT 1 FROM pg_database WHERE datname = '{db}'") != "1":
        _as_postgres(f"CREATE DATABASE {db} OWNER {role}")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for ext in ("postgis", "pg_trgm"):
            conn.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")


def libpq_url(sqlalchemy_url: str) -> str:
    """Return the libpq form of a SQLAlchemy URL (drops the `+psycopg` driver suffix)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def up_postgres(settings: SpatialSettings, report: Report) -> Service:
    """Install, start and provision PostgreSQL with PostGIS unless the user named a server."""
    url = libpq_url(settings.database_url)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    if settings.explicit_server:
        _wait("PostgreSQL", lambda: _pg_ready(url), 15)
        return Service("postgis", shown, "external")
    try:
        if _pg_ready(url):
            return Service("postgis", shown, "running")
    except psycopg.Error:
        pass
    versions = _pg_versions()
    if not versions or not shutil.which("pg_ctlcluster"):
        _apt_install("postgresql", "postgresql-contrib", report=report)
        versions = _pg_versions()
    version = versions[-1]
    # the extension's scripts can outlive its library (a removed package): look for both
    installed = (
        Path(f"/usr/lib/postgresql/{version}/lib/postgis-3.so").exists()
        and Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists()
    )
    if not installed:
        _apt_install(f"postgresql-{version}-postgis-3", report=report)
    clusters = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout.split()
    if version not in clusters:
        subprocess.run(["pg_createcluster", version, "main"], check=True, capture_output=True)
    if not _port_open("127.0.0.1", make_url(url).port or 5432):
        report(f"starting PostgreSQL {version}")
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], capture_output=True)
    _wait("PostgreSQL", lambda: _port_open("127.0.0.1", make_url(url).port or 5432), 30)
    _provision_database(settings.database_url)
    _wait("PostgreSQL", lambda: _pg_ready(url), 30)
    return Service("postgis", shown, "started")


# --- Mosquitto ---------------------------------------------------------------------------------


def _mqtt_ready(settings: IngestSettings) -> bool:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"twinhood-probe-{os.getpid()}")
    parts = urlsplit(settings.mqtt_url)
    if parts.username:
        client.username_pw_set(parts.username, parts.password)
    try:
        return bool(client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=5) == 0)
    finally:
        client.disconnect()


def up_mqtt(settings: IngestSettings, stack: StackSettings, report: Report) -> Service:
    """Install and start Mosquitto (persistent, loopback only) unless a broker already answers."""
    if settings.explicit_server:
        _wait("MQTT broker", lambda: _mqtt_ready(settings), 15)
        return Service("mqtt", settings.mqtt_url, "external")
    if _port_open(settings.mqtt_host, settings.mqtt_port):
        _wait("MQTT broker", lambda: _mqtt_ready(settings), 15)
        return Service("mqtt", settings.mqtt_url, "running")
    if not shutil.which("mosquitto") and not Path("/usr/sbin/mosquitto").exists():
        _apt_install("mosquitto", report=report)
    home = stack.home / "mosquitto"
    home.mkdir(parents=True, exist_ok=True)
    conf = home / "mosquitto.conf"
    conf.write_text(
        f"listener {settings.mqtt_port} {settings.mqtt_host}\n"
        "allow_anonymous true\n"
        f"persistence true\npersistence_location {home}/\n"
        # the default (1,000 queued QoS 1 messages per client) drops messages while a worker lags
        "max_queued_messages 1000000\nmax_queued_bytes 1073741824\n"
        f"pid_file {home / 'mosquitto.pid'}\n"
        f"log_dest file {home / 'mosquitto.log'}\n"
        f"user {getpass.getuser()}\n"
    )
    report(f"starting Mosquitto on {settings.mqtt_host}:{settings.mqtt_port}")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    done = subprocess.run([binary, "-d", "-c", str(conf)], capture_output=True, text=True)
    if done.returncode:
        raise StackError("Mosquitto", done.stderr.strip() or f"exit code {done.returncode}")
    _wait("Mosquitto", lambda: _mqtt_ready(settings), 15, home / "mosquitto.log")
    return Service("mqtt", settings.mqtt_url, "started")


# --- the whole stack -----------------------------------------------------------------------------


def up(report: Report = log.info) -> list[Service]:
    """Bring up every server twinhood needs; return what was found or started."""
    stack = StackSettings()
    return [
        up_graph(GraphSettings(), stack, report),
        up_postgres(SpatialSettings(), report),
        up_mqtt(IngestSettings(), stack, report),
    ]


def down(report: Report = log.info) -> list[str]:
    """Stop the servers that `up` started itself (by their PID files); leave the rest alone."""
    stack = StackSettings()
    stopped = []
    for name, pid_file in (
        ("ArcadeDB", stack.home / "arcadedb" / "arcadedb.pid"),
        ("Mosquitto", stack.home / "mosquitto" / "mosquitto.pid"),
    ):
        pid = _alive(pid_file)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _alive(pid_file) and time.monotonic() < deadline:
            time.sleep(0.2)
        pid_file.unlink(missing_ok=True)
        report(f"stopped {name} (pid {pid})")
        stopped.append(name)
    return stopped
