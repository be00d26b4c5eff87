"""The flows in force, their versions, and hot reload.

A flow reaches callers only through ``publish``: it is validated first, an invalid
one is rejected with all its problems and the running version stays. A valid one
is recorded in the database (number, author, time, diff) and swapped in with one
assignment, so a call that already holds a ``Flow`` finishes on it.

Files in ``flows_dir`` are the editing surface: an edited file is published by the
watcher (author ``file:NAME``), and a version published from the admin page is
written back to its file, so both always agree.

Before a flow goes in force (loaded at start, published, rolled back, reloaded by
the watcher, or a stored version kept) ``prepare`` makes what its calls need, the
sounds of its text prompts, so that no caller waits for them. A prompt that cannot
be made does not keep the flow out: it goes in force with a warning logged for
each such prompt (its callers hear silence there and still get the menus), since
a synthesiser failing is a problem of the machine, not of the flow. If ``prepare``
itself raises, the flow is not published and the running version stays.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from ctiserver.ivr.loader import Flow, FlowError, FlowProblem, load_flow
from ctiserver.ivr.store import FlowVersionInfo, FlowVersionRepository

log = logging.getLogger(__name__)

#: makes what a flow's calls need before it goes in force; returns the problems
#: (e.g. prompts that could not be synthesised), which do not keep it out
Preparer = Callable[[Flow], Awaitable[Sequence[str]]]


@dataclass(frozen=True)
class Published:
    flow: Flow
    version: FlowVersionInfo
    #: what ``prepare`` could not make (the flow is in force regardless)
    warnings: tuple[str, ...] = ()


class FlowRegistry:
    def __init__(
        self,
        flows_dir: Path,
        *,
        queues: Collection[str],
        sounds_dirs: Sequence[Path],
        versions: FlowVersionRepository,
        prepare: Preparer | None = None,
    ) -> None:
        self.flows_dir = flows_dir
        self.prepare = prepare
        self.queues = tuple(queues)
        self.sounds_dirs = tuple(sounds_dirs)
        self.versions = versions
        self._by_name: dict[str, tuple[Flow, FlowVersionInfo]] = {}
        self._seen_files: dict[Path, str] = {}
        self._lock = asyncio.Lock()

    def for_entry(self, entry: str) -> Flow | None:
        """The flow in force for a dialled number (or AGI entry)."""
        for flow, _ in self._by_name.values():
            if flow.entry == entry:
                return flow
        return None

    def get(self, name: str) -> Flow | None:
        found = self._by_name.get(name)
        return found[0] if found else None

    def active_version(self, name: str) -> FlowVersionInfo | None:
        found = self._by_name.get(name)
        return found[1] if found else None

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def check(self, source: str, *, file: str = "<flow>") -> Flow:
        """Validate without publishing; raises FlowError with every problem."""
        return load_flow(source, file=file, queues=self.queues, sounds_dirs=self.sounds_dirs)

    async def publish(
        self, source: str, *, author: str, note: str | None = None, file: str = "<flow>",
        write_file: bool = True,
    ) -> Published:
        async with self._lock:
            # off the event loop: a large or hostile source must not stall calls and pages
            flow = await asyncio.to_thread(self.check, source, file=file)
            other = self.for_entry(flow.entry)
            if other is not None and other.name != flow.name:
                raise FlowError([FlowProblem(file, 1, 1, f"entry {flow.entry} is already served by flow {other.name}")])
            warnings = await self._prepare(flow)
            version = await self.versions.publish(flow.name, source, flow.version, author, note)
            self._by_name[flow.name] = (flow, version)
            if write_file:
                self._write_file(flow.name, source)
            log.info("flow %s version %d (%s) in force, by %s", flow.name, version.number, flow.version, author)
            return Published(flow, version, warnings)

    async def rollback(self, name: str, number: int, *, author: str) -> Published:
        old = await self.versions.get(name, number)
        if old is None:
            raise KeyError(f"flow {name} has no version {number}")
        return await self.publish(old.source, author=author, note=f"rollback to version {number}")

    async def load_all(self) -> list[FlowProblem]:
        """At start: publish every valid file; for an invalid one keep the last good version."""
        problems: list[FlowProblem] = []
        for path in sorted(self.flows_dir.glob("*.yaml")):
            problems += await self._load_file(path)
        for name in await self.versions.flows():
            if name not in self._by_name:
                active = await self.versions.active(name)
                if active is not None:
                    await self._restore(active)
        return problems

    async def follow_stored(self, name: str | None = None) -> None:
        """Put in force the version stored as active for ``name`` (None: every flow) when it
        is not the one in force here: another node published it (``ctiserver.storage.notify``
        wakes this). The node's file is written too, so that its file watcher agrees."""
        async with self._lock:
            names = [name] if name is not None else await self.versions.flows()
            for flow in names:
                active = await self.versions.active(flow)
                current = self._by_name.get(flow)
                if active is None or (current is not None and current[1].number == active.number):
                    continue
                await self._restore(active)
                if self.active_version(flow) == active:
                    self._write_file(flow, active.source)

    async def watch(self, interval: float) -> None:
        """Poll flows_dir for edited files until cancelled."""
        while True:
            await asyncio.sleep(interval)
            for path in sorted(self.flows_dir.glob("*.yaml")):
                try:
                    await self._load_file(path)
                except Exception:
                    log.exception("could not reload flow file %s", path)

    async def _load_file(self, path: Path) -> list[FlowProblem]:
        try:
            source = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return [FlowProblem(str(path), 1, 1, f"cannot read: {exc}")]
        if self._seen_files.get(path) == source:
            return []
        self._seen_files[path] = source
        try:
            await self.publish(source, author=f"file:{path.name}", file=str(path), write_file=False)
        except FlowError as exc:
            for problem in exc.problems:
                log.warning("flow rejected, the running version stays: %s", problem)
            return list(exc.problems)
        return []

    async def _restore(self, version: FlowVersionInfo) -> None:
        try:
            flow = self.check(version.source, file=f"{version.flow} v{version.number}")
        except FlowError as exc:
            log.error("stored version %d of flow %s no longer validates: %s", version.number, version.flow, exc)
            return
        await self._prepare(flow)
        self._by_name[flow.name] = (flow, version)
        log.info("flow %s: keeping stored version %d", flow.name, version.number)

    async def _prepare(self, flow: Flow) -> tuple[str, ...]:
        if self.prepare is None:
            return ()
        problems = tuple(await self.prepare(flow))
        for problem in problems:
            log.warning("flow %s (%s) goes in force without a sound: %s", flow.name, flow.version, problem)
        return problems

    def _write_file(self, name: str, source: str) -> None:
        path = self.flows_dir / f"{name}.yaml"
        self.flows_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self.flows_dir, delete=False, suffix=".tmp") as tmp:
            tmp.write(source)
        os.replace(tmp.name, path)
        self._seen_files[path] = source
