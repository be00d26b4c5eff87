"""The whole lab on one machine: Asterisk (system or chroot), the server, demo data.

The lab serves its own copy of the flows (``lab.flows_dir``, made afresh from
``ivr.flows_dir`` at every start), so what is published from its admin page never
rewrites the repository's files; and its IVR is open at any hour (``lab.hours``,
``ctiserver lab --real-hours`` for the flows' own hours), so a demo call reaches
an agent whenever it is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from ctiserver.ivr.engine.runner import HOURS_MODES
from ctiserver.lab.asterisk import AsteriskLayout, AsteriskProcess, layout_for, render_config
from ctiserver.lab.boxes import LAB_SHARED_STATE, box_view, edge_settings
from ctiserver.lab.demo import seed_demo
from ctiserver.lab.demo_dispatch import seed_demo_dispatch
from ctiserver.lab.nodes import NodeProcess, node_settings
from ctiserver.lab.phones import PhoneLines
from ctiserver.lab.postgres import throwaway_postgres
from ctiserver.lab.provision import AsteriskInstall, find_or_provision
from ctiserver.phone import endpoints_conf
from ctiserver.server import CtiServer
from ctiserver.settings import Settings
from ctiserver.storage.pglink import is_postgres
from ctiserver.users import UserRepository
from ctiserver.vocabulary import SUPERVISOR_ROLES

log = logging.getLogger(__name__)

#: lab agents are Local channels answered by [lab-agents] in the dialplan
LAB_AGENT_INTERFACE = "Local/{extension}@lab-agents/n"
#: lab customers called back are Local channels answered by [lab-customers]
LAB_CUSTOMER_INTERFACE = "Local/{number}@lab-customers/n"
#: a supervisor's phone in the lab (live monitoring): a Local channel answered by [lab-supervisor]
LAB_SUPERVISOR_INTERFACE = "Local/{extension}@lab-supervisor/n"


@dataclass
class EdgeLab:
    """An edge box of the lab (``ctiserver lab --boxes 2``): its Asterisk, its settings (its AMI
    and SIP ports) and its own simulated phones, which place calls entering this box."""

    name: str
    settings: Settings
    asterisk: AsteriskProcess
    phones: PhoneLines


class Lab:
    """Starts what it needs and, on stop, stops exactly what it started."""

    def __init__(
        self, settings: Settings, *, allow_provision: bool = True, seed: bool = True, dial_callbacks: bool = False,
        nodes: int = 1,
    ) -> None:
        """``dial_callbacks``: dial the callbacks owed (``ctiserver lab`` does, as ``lab.dial_callbacks``
        says; the tests' labs do not unless they ask, so that no test's abandoned call rings an agent)."""
        if dial_callbacks:
            settings = settings.replace(callbacks={"dial": True})
        self.settings = settings
        self.allow_provision = allow_provision
        self.seed = seed
        self.asterisk: AsteriskProcess | None = None
        self.server: CtiServer | None = None
        #: how many nodes (``ctiserver lab --nodes N``): this process's server, and the others
        #: in processes of their own (``ctiserver.lab.nodes``), all on one PostgreSQL
        self.node_count = nodes
        #: every node's settings, this process's first (set at start)
        self.node_settings: list[Settings] = []
        self.other_nodes: list[NodeProcess] = []
        #: the throw-away PostgreSQL of several nodes when database.url names none
        self._postgres = contextlib.AsyncExitStack()
        #: the simulated phones' own AMI sessions (Originate, PlayDTMF, Hangup), apart
        #: from the server's link: see ctiserver/lab/phones.py
        self.phones = PhoneLines(settings.ami)
        #: the other boxes (settings.boxes.edges), each an Asterisk of its own
        self.edges: list[EdgeLab] = []

    async def start(self) -> None:
        if self.node_count > 1 and not is_postgres(self.settings.database.url):
            url = await self._postgres.enter_async_context(throwaway_postgres())
            log.warning("lab: %d nodes on a throw-away PostgreSQL at %s", self.node_count, url)
            self.settings = self.settings.replace(database={"url": url})
        install = find_or_provision(self.settings.asterisk, allow_provision=self.allow_provision)
        layout = layout_for(self.settings, install)
        shared = LAB_SHARED_STATE if self.settings.boxes.edges and not self.settings.hotline.agent_state_interface \
            else {}
        self.settings = self.settings.replace(
            hotline={"agent_interface": LAB_AGENT_INTERFACE, "callback_interface": LAB_CUSTOMER_INTERFACE,
                     **shared},
            ivr=lab_ivr(self.settings),
            webrtc={"enabled": self.settings.lab.browser_phone},
        )
        self.settings = self.settings.replace(
            ivr=_ivr_paths(self.settings, install, layout), recordings=_recording_paths(install, layout)
        )
        self.node_settings = node_settings(self.settings, self.node_count)
        self.settings = self.node_settings[0]
        # after the paths: the queues play the server's prompts from ivr.asterisk_prompt_dir
        render_config(self.settings, install, layout, box_view(self.settings, None))
        self.asterisk = AsteriskProcess(install, layout)
        for edge in self.settings.boxes.edges:
            settings = edge_settings(self.settings, edge)
            edge_layout = layout_for(settings, install)
            render_config(settings, install, edge_layout, box_view(self.settings, edge))
            process = AsteriskProcess(install, edge_layout)
            self.edges.append(EdgeLab(edge.name, settings, process, PhoneLines(settings.ami, lines=2)))
        boxes = [self.asterisk, *(edge.asterisk for edge in self.edges)]
        for box in boxes:
            await box.start()
        await asyncio.gather(*(box.wait_fully_booted() for box in boxes))
        self.server = CtiServer(self.settings)
        await self.server.start()
        if self.seed:
            await seed_demo(self.server.db, password=self.settings.lab.demo_password)
            await seed_demo_dispatch(self.server.db, password=self.settings.lab.demo_password)
            await self.server.seat_agents()
            await self.seat_supervisor_phones()
        await self.server.ami.wait_ready(timeout=20)
        if self.settings.lab.login_agents:
            for record in await self.server.agents.all():
                if record.user_id is not None:
                    await self.server.desk.login(record.user_id)
        await self.phones.start()
        for edge_lab in self.edges:
            await edge_lab.phones.start()
        for settings in self.node_settings[1:]:  # once the demo data is there to read
            await self.start_node(settings)

    async def start_node(self, settings: Settings) -> NodeProcess:
        """One more node, in a process of its own, with its own copy of the flows."""
        flows = Path(f"{self.settings.lab.flows_dir}-{settings.nodes.name}")
        copy_flows(Path(self.settings.ivr.flows_dir), flows)
        directory = Path(self.settings.storage.journal_dir).parent
        node = NodeProcess(settings.replace(ivr={"flows_dir": str(flows)}), directory)
        self.other_nodes.append(node)
        await node.start()
        return node

    def edge(self, name: str) -> EdgeLab:
        return next(edge for edge in self.edges if edge.name == name)

    async def seat_supervisor_phones(self) -> None:
        """Each supervisor's (and admin's) browser phone, for live monitoring from the page:
        their endpoints are named by user id, so they are written once the users exist."""
        if not self.settings.webrtc.enabled or self.server is None or self.asterisk is None:
            return
        users = await UserRepository(self.server.db).list()
        ids = [user.id for user in users if user.role in SUPERVISOR_ROLES]
        etc = self.asterisk.install.host_path(self.asterisk.layout.etc)
        (etc / "pjsip_supervisors.conf").write_text(endpoints_conf(self.settings, [], ids), encoding="utf-8")
        await self.asterisk.cli("module reload res_pjsip.so")

    async def stop(self) -> None:
        for node in self.other_nodes:
            await node.stop()
        await self.phones.stop()
        for edge in self.edges:
            await edge.phones.stop()
        if self.server is not None:
            await self.server.stop()
        for edge in self.edges:
            await edge.asterisk.stop()
        if self.asterisk is not None:
            await self.asterisk.stop()
        await self._postgres.aclose()

    def urls(self) -> list[str]:
        if self.server is None:
            raise RuntimeError("the lab is not running")
        base = f"http://{self.settings.web.host}:{self.server.web_port}"
        return [
            f"{base}/                     (home: log in, then the pages your role may open)",
            f"{base}/ui/agent.html        (agent desktop: agent1001..agent1004)",
            f"{base}/ui/supervisor.html   (supervisor live view: supervisor)",
            f"{base}/ui/admin/flows.html  (IVR flow editor: admin)",
            f"{base}/ui/admin/customers.html  (customer import and exports: admin)",
            f"{base}/ui/admin/users.html  (users, their department and branch: admin)",
            f"{base}/ui/reports.html      (reports: supervisor)",
            f"{base}/ui/department.html   (department work view: engineer-bj, engineer-sh, ...)",
            f"{base}/healthz",
            *self._phone_url(),
            *(f"{node.web_url}/   (node {node.name}, pid {node.pid}: `kill -9 {node.pid}` and watch the calls "
              "go on; its log: " + str(node.log) + ")" for node in self.other_nodes),
        ]

    def boxes_summary(self) -> list[str]:
        """What ``ctiserver lab --boxes N`` prints of its boxes: which is which, how to call
        into an edge, how to kill one."""
        if not self.edges or self.asterisk is None:
            return []
        boxes = self.settings.boxes
        mine = [ext for ext in self.settings.lab.agents if boxes.edge_of(ext) is None]
        lines = [f"  boxes: {boxes.name} (the queue box, pid {self.asterisk.pid}, AMI port "
                 f"{self.settings.ami.port}, agents {', '.join(mine)})"]
        closing = [f"    kill {boxes.name}: kill -9 {self.asterisk.pid}  (its calls end; each edge's agents take "
                   "the edge's new callers until it is back)", ""]
        for edge in self.edges:
            agents = ", ".join(boxes.edge_of_name(edge.name).agents)
            port = edge.settings.ami.port
            lines += [
                f"         {edge.name} (an edge, pid {edge.asterisk.pid}, AMI port {port}, agents {agents})",
                f"    a call entering {edge.name}: CTISERVER_AMI__PORT={port} ctiserver simulate call "
                "--caller 13900139000",
                f"      (its IVR runs on {boxes.name}: the questions time out to their defaults; --dtmf "
                "works for calls entering the queue box)",
                f"    kill {edge.name}: kill -9 {edge.asterisk.pid}  (its calls end; new calls go through "
                f"{boxes.name})",
                "",
            ]
        return lines + closing

    def _phone_url(self) -> list[str]:
        if not self.settings.webrtc.enabled:
            return []
        host = self.settings.asterisk.sip_bind.replace("0.0.0.0", "127.0.0.1")  # noqa: S104
        return [f"https://{host}:{self.settings.webrtc.port}/ws  (the browser phone: accept the lab's "
                "certificate here once, then the desk registers)"]


def lab_ivr(settings: Settings) -> dict[str, str]:
    """The lab's IVR settings: its own copy of the flows (made now) and its hours."""
    if settings.lab.hours not in HOURS_MODES:
        raise ValueError(f"lab.hours must be one of {', '.join(HOURS_MODES)}, not {settings.lab.hours!r}")
    copy = Path(settings.lab.flows_dir)
    copy_flows(Path(settings.ivr.flows_dir), copy)
    return {"flows_dir": str(copy), "hours": settings.lab.hours}


def copy_flows(source: Path, target: Path) -> None:
    """``target`` becomes a copy of the flows in ``source`` (``*.yaml`` and ``sounds/``);
    flow files in ``target`` that ``source`` no longer has are removed."""
    if source.resolve() == target.resolve():
        raise ValueError(f"the lab's copy of the flows must not be the flows themselves ({source})")
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.yaml"):
        stale.unlink()
    for flow in sorted(source.glob("*.yaml")):
        shutil.copyfile(flow, target / flow.name)
    if (source / "sounds").is_dir():
        shutil.copytree(source / "sounds", target / "sounds", dirs_exist_ok=True)
    log.info("lab: flows copied from %s to %s (the lab publishes there)", source, target)


def _recording_paths(install: AsteriskInstall, layout: AsteriskLayout) -> dict[str, str]:
    """A chrooted Asterisk writes the recordings inside its root; the server reads them there."""
    monitor = {"monitor_interface": LAB_SUPERVISOR_INTERFACE}
    if not install.chrooted:
        return monitor
    return {
        **monitor,
        "dir": str(install.host_path(f"{layout.base}/recordings")),
        "asterisk_dir": f"{layout.base}/recordings",
    }


def _ivr_paths(settings: Settings, install: AsteriskInstall, layout: AsteriskLayout) -> dict[str, str]:
    """Prompts, voicemail and flow sounds where this Asterisk can read and write them."""
    sounds = install.host_path(f"{install.data_dir}/sounds/en")
    if not install.chrooted:
        return {"asterisk_sounds_dir": str(sounds)}
    flow_sounds = Path(settings.ivr.flows_dir) / "sounds"
    if flow_sounds.is_dir():
        shutil.copytree(flow_sounds, install.host_path(f"{layout.base}/flows/sounds"), dirs_exist_ok=True)
    return {
        "prompt_dir": str(install.host_path(f"{layout.base}/prompts")),
        "asterisk_prompt_dir": f"{layout.base}/prompts",
        "voicemail_dir": str(install.host_path(f"{layout.base}/voicemail")),
        "asterisk_voicemail_dir": f"{layout.base}/voicemail",
        "asterisk_sounds_dir": str(sounds),
        "asterisk_flows_dir": f"{layout.base}/flows",
    }
