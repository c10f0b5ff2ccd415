"""Debian's nginx as a TLS-terminating round-robin load balancer on 127.0.0.1, for tests.

The certificate is self-signed, made with the ``openssl`` CLI for ``127.0.0.1``; clients
trust it through ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``. The configuration is the one
docs/deploy.md shows (forwarded headers, unbuffered uploads), with paths in a temp dir.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests

from helpers.procs import terminate
from helpers.server import free_port
from helpers.wait import wait_until_up

NGINX = Path("/usr/sbin/nginx")

CONF = """
worker_processes 1;
daemon off;
{user}
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream nbtrack {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        client_max_body_size 0;
        location / {{
            proxy_pass http://nbtrack;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    url: str
    cert: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        terminate(self.proc)


def start_nginx(directory: Path, upstreams: list[str]) -> Nginx:
    """nginx on a free port, round-robin over ``upstreams`` (``host:port``)."""
    if not NGINX.exists():
        raise RuntimeError("nginx is not installed: bash scripts/system_deps.sh")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    servers = "\n".join(f"        server {u};" for u in upstreams)
    # as root, nginx's workers would switch to 'nobody', who cannot read a private temp dir
    user = "user root root;" if os.geteuid() == 0 else ""
    conf = directory / "nginx.conf"
    conf.write_text(CONF.format(dir=directory, port=port, servers=servers, user=user))
    log = open(directory / "stderr.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([str(NGINX), "-c", str(conf), "-p", str(directory)],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()
    url = f"https://127.0.0.1:{port}"

    def up() -> bool:
        try:
            requests.get(f"{url}/healthz", verify=str(directory / "cert.pem"), timeout=1)
            return True
        except requests.RequestException:
            return False

    wait_until_up(proc, up, 30.0, "nginx")
    return Nginx(url, directory / "cert.pem", proc)
