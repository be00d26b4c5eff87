"""Render Asterisk's configuration from the templates and run Asterisk as a child process.

Templates live in ``asterisk-conf/*.conf.j2`` and ``dialplans/*.conf.j2`` (found
through ``ctiserver.resources``). Each Asterisk instance gets its own directory tree
(etc, log, run, spool, lib) so several can run side by side, e.g. one per test.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ctiserver.callbacks.keyprompts import key_prompts
from ctiserver.lab.boxes import BoxView
from ctiserver.lab.certificates import lab_certificate
from ctiserver.lab.provision import AsteriskInstall
from ctiserver.lab.voices import caller_voice
from ctiserver.operations.snippets import agi_urls
from ctiserver.phone import endpoint_of, sip_password
from ctiserver.recordings.notice import recording_notice
from ctiserver.resources import asterisk_template_dirs
from ctiserver.settings import Settings

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class AsteriskLayout:
    """One instance's directories, as Asterisk sees them (inside the chroot if any)."""

    base: str

    def __getattr__(self, name: str) -> str:
        if name in ("etc", "log", "run", "spool", "varlib", "moh"):
            return f"{self.base}/{name}"
        raise AttributeError(name)

    @property
    def config_file(self) -> str:
        return f"{self.etc}/asterisk.conf"


@dataclass(frozen=True)
class Phone:
    extension: str
    name: str
    password: str


#: modules the browser phone needs; Opus is offered only when its codec module is there
WEBRTC_MODULES = ("res_http_websocket.so", "res_pjsip_transport_websocket.so", "res_srtp.so")
OPUS_MODULES = ("codec_opus_open_source.so", "res_format_attr_opus.so")


def sip_host(settings: Settings) -> str:
    """Where this machine reaches the lab Asterisk's SIP transports."""
    bind = settings.asterisk.sip_bind
    return bind if bind not in ("0.0.0.0", "") else "127.0.0.1"  # noqa: S104


def webrtc_context(settings: Settings, install: AsteriskInstall, layout: AsteriskLayout) -> dict[str, object]:
    """http.conf (TLS) and one WebRTC endpoint per lab agent; the lab's CA and certificate."""
    webrtc = settings.webrtc
    modules = install.host_path(install.modules_dir)
    present = webrtc.enabled and all((modules / m).exists() for m in WEBRTC_MODULES)
    if webrtc.enabled and not present:
        log.warning("the browser phone is off: this Asterisk lacks one of %s", ", ".join(WEBRTC_MODULES))
    opus = present and all((modules / m).exists() for m in OPUS_MODULES)
    keys = f"{layout.etc}/keys"
    host = sip_host(settings)
    if present:
        lab_certificate(install.host_path(keys), (host, "localhost"))
    endpoints = []
    for extension in settings.lab.agents:
        name = endpoint_of(settings, extension)
        endpoints.append(Phone(name, f"Agent {extension}", sip_password(settings, name)))
    return {
        "enabled": present,
        "opus": opus,
        "port": webrtc.port,
        "http_port": webrtc.http_port,
        "cert_file": f"{keys}/asterisk.pem",
        "key_file": f"{keys}/asterisk.key",
        "endpoints": endpoints,
        "qualify_frequency": webrtc.qualify_frequency,
    }


def layout_for(settings: Settings, install: AsteriskInstall) -> AsteriskLayout:
    run_dir = Path(settings.asterisk.run_dir).resolve()
    if not install.chrooted:
        return AsteriskLayout(base=str(run_dir))
    digest = hashlib.sha256(str(run_dir).encode()).hexdigest()[:12]
    return AsteriskLayout(base=f"/srv/ctiserver/{digest}")


def render_config(
    settings: Settings, install: AsteriskInstall, layout: AsteriskLayout, box: BoxView | None = None
) -> Path:
    """Write every configuration file of the instance; returns its etc dir on this machine.
    ``box``: which of several boxes it is (``ctiserver.lab.boxes``); None: the only one."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in asterisk_template_dirs()]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        # Asterisk's configuration, not HTML; what goes in is the operator's settings
        autoescape=False,  # noqa: S701
    )
    context = {
        "ami": settings.ami,
        "agi": settings.agi,
        "agi_urls": agi_urls(settings, settings.agi.host),
        "hotline": settings.hotline,
        "record_notice": recording_notice(settings),
        "callback_key": key_prompts(settings),
        "waits": settings.waits,
        "lab": settings.lab,
        "asterisk": settings.asterisk,
        "sip_bind": settings.asterisk.sip_bind,
        "lab_sip_host": sip_host(settings),
        "box": box,
        "boxes": settings.boxes,
        "dirs": {
            "etc": layout.etc,
            "modules": install.modules_dir,
            "varlib": layout.varlib,
            "data": install.data_dir,
            "spool": layout.spool,
            "run": layout.run,
            "log": layout.log,
            "moh": layout.moh,
        },
        "webrtc": webrtc_context(settings, install, layout),
        "lab_caller_voice": caller_voice(install.host_path(f"{layout.base}/sounds"), f"{layout.base}/sounds"),
        "webrtc_endpoint": endpoint_of(settings, "${EXTEN}"),
        "phones": [
            Phone(ext, f"Agent {ext}", settings.asterisk.phone_secret) for ext in settings.lab.agents
        ],
    }
    for sub in ("etc", "log", "run", "spool", "varlib", "moh", "varlib/agi-bin"):
        install.host_path(f"{layout.base}/{sub}").mkdir(parents=True, exist_ok=True)
    etc = install.host_path(layout.etc)
    for name in env.list_templates(filter_func=lambda n: n.endswith(".conf.j2")):
        target = etc / name.removesuffix(".j2")
        target.write_text(env.get_template(name).render(context), encoding="utf-8")
    return etc


class AsteriskProcess:
    """Asterisk in the foreground (``-f``) as our child: we start it and only it we stop."""

    def __init__(self, install: AsteriskInstall, layout: AsteriskLayout) -> None:
        self.install = install
        self.layout = layout
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def log_file(self) -> Path:
        return self.install.host_path(self.layout.log) / "console.log"

    async def start(self) -> None:
        if self.running:
            return
        self._remove_stale_control_socket()
        out = open(self.log_file, "ab")  # noqa: SIM115, ASYNC230  (Asterisk's stdout, closed in stop)
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.install.command("-f", "-n", "-C", self.layout.config_file),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()
        log.info("Asterisk started (pid %s), config %s", self._process.pid, self.layout.config_file)

    async def stop(self, timeout: float = 10.0) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            log.warning("Asterisk did not stop within %.0f s; killing it", timeout)
            process.kill()
            await process.wait()
        log.info("Asterisk stopped (exit %s)", process.returncode)

    async def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run one CLI command on the running instance (``asterisk -rx``)."""
        proc = await asyncio.create_subprocess_exec(
            *self.install.command("-C", self.layout.config_file, "-rx", command),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        return out.decode("utf-8", errors="replace")

    async def wait_fully_booted(self, timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not self.running:
                raise RuntimeError(f"Asterisk exited early; see {self.log_file}")
            try:
                out = await self.cli("core waitfullybooted", timeout=max(1.0, deadline - loop.time()))
                if "fully booted" in out.lower():
                    return
            except TimeoutError:
                pass
            if loop.time() > deadline:
                raise TimeoutError(f"Asterisk not fully booted after {timeout:.0f} s; see {self.log_file}")
            await asyncio.sleep(0.2)

    def _remove_stale_control_socket(self) -> None:
        ctl = self.install.host_path(self.layout.run) / "asterisk.ctl"
        if ctl.exists():
            os.unlink(ctl)
