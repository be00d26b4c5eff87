"""Find an Asterisk to run: the system's, or a Debian sid chroot provisioned once and cached.

Debian bookworm has no asterisk package; sid has Asterisk 22. The chroot is built
with debootstrap into a temporary directory and renamed into place only when
``apt-get install asterisk`` has succeeded, so an interrupted build is never
mistaken for a ready one.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ctiserver.settings import AsteriskSettings

log = logging.getLogger(__name__)

READY_MARKER = ".ctiserver-asterisk-ready"
_APT_OPTIONS = ["-o", "Acquire::Check-Valid-Until=false"]


class ProvisionError(RuntimeError):
    """Asterisk could not be found or installed."""


@dataclass(frozen=True)
class AsteriskInstall:
    """Where an Asterisk binary lives. ``root`` is "/" for a system install."""

    root: Path
    binary: str
    modules_dir: str
    data_dir: str

    @property
    def chrooted(self) -> bool:
        return self.root != Path("/")

    def command(self, *args: str) -> list[str]:
        """The argv that runs asterisk with ``args``, inside the chroot when there is one."""
        if self.chrooted:
            return ["chroot", str(self.root), self.binary, *args]
        return [self.binary, *args]

    def host_path(self, inside: str) -> Path:
        """A path as Asterisk sees it, translated to this machine's view."""
        return self.root / inside.lstrip("/")


def find_or_provision(settings: AsteriskSettings, *, allow_provision: bool = True) -> AsteriskInstall:
    if settings.mode not in ("auto", "system", "chroot"):
        raise ProvisionError(f"asterisk.mode must be auto, system or chroot, not {settings.mode!r}")
    if settings.mode in ("auto", "system"):
        system = _system_install()
        if system is not None:
            return system
        if settings.mode == "system":
            raise ProvisionError("asterisk.mode is 'system' but no asterisk binary is on PATH")
    chroot = Path(settings.chroot_dir)
    if (chroot / READY_MARKER).exists():
        return _install_in(chroot)
    if not allow_provision:
        raise ProvisionError(f"no system asterisk and no provisioned chroot at {chroot}")
    provision_chroot(chroot, settings.debian_mirror)
    return _install_in(chroot)


def _system_install() -> AsteriskInstall | None:
    binary = shutil.which("asterisk")
    if binary is None:
        return None
    return AsteriskInstall(
        root=Path("/"),
        binary=binary,
        modules_dir=_modules_dir(Path("/")),
        data_dir="/usr/share/asterisk",
    )


def _install_in(chroot: Path) -> AsteriskInstall:
    return AsteriskInstall(
        root=chroot,
        binary="/usr/sbin/asterisk",
        modules_dir=_modules_dir(chroot),
        data_dir="/usr/share/asterisk",
    )


def _modules_dir(root: Path) -> str:
    for candidate in [*sorted(root.glob("usr/lib/*/asterisk/modules")), root / "usr/lib/asterisk/modules"]:
        if (candidate / "app_queue.so").exists():
            return "/" + str(candidate.relative_to(root))
    raise ProvisionError(f"no Asterisk modules directory (with app_queue.so) under {root}")


def provision_chroot(target: Path, mirror: str) -> None:
    """debootstrap Debian sid and install asterisk in it (about a minute, about 640 MB)."""
    if os.geteuid() != 0:
        raise ProvisionError("provisioning the Asterisk chroot needs root (debootstrap, chroot)")
    if shutil.which("debootstrap") is None:
        _run(["apt-get", "update", "-q"], "apt-get update")
        _run(["apt-get", "install", "-y", "-q", "debootstrap"], "installing debootstrap")
    building = target.with_name(target.name + ".building")
    if building.exists():
        shutil.rmtree(building)
    building.parent.mkdir(parents=True, exist_ok=True)
    log.info("provisioning Asterisk: debootstrap sid into %s", building)
    _run(["debootstrap", "--variant=minbase", "sid", str(building), mirror], "debootstrap sid")
    log.info("provisioning Asterisk: apt-get install asterisk in the chroot")
    _run(["chroot", str(building), "apt-get", *_APT_OPTIONS, "update"], "apt-get update in the chroot")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(
        ["chroot", str(building), "apt-get", *_APT_OPTIONS, "install", "-y", "--no-install-recommends", "asterisk"],
        "apt-get install asterisk in the chroot",
        env=env,
    )
    (building / READY_MARKER).write_text("asterisk installed\n")
    if target.exists():
        shutil.rmtree(target)
    building.rename(target)
    log.info("Asterisk chroot ready at %s", target)


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)  # noqa: S603  (fixed commands)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise ProvisionError(f"{what} failed (exit {result.returncode}):\n" + "\n".join(tail))
