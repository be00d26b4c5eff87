"""``ctiserver flows check|simulate|graph|schema``: the IVR flows an admin checks, walks without a
phone and draws before publishing."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC
from typing import TYPE_CHECKING, Any

from ctiserver.settings import Settings

if TYPE_CHECKING:
    from ctiserver.ivr.loader import Flow


def add_flows(commands: Any) -> None:
    flows = commands.add_parser("flows", help="IVR flows: check, dry-run, draw")
    flow_commands = flows.add_subparsers(dest="what", required=True)
    check = flow_commands.add_parser("check", help="validate flows; prints file:line:column: message")
    check.add_argument("files", nargs="*", help="flow files (default: every *.yaml in ivr.flows_dir)")
    check.set_defaults(handler=_flows_check)
    dry = flow_commands.add_parser("simulate", help="walk a flow without a phone, printing every step")
    dry.add_argument("flow", help="a flow file")
    dry.add_argument("--caller", required=True, help="the caller's number")
    dry.add_argument("--dtmf", default="", help="key presses per question, comma separated; empty = no key")
    dry.add_argument("--at", default=None, help="the time of the call, ISO 8601 (default: now)")
    dry.add_argument("--no-lookup", action="store_true", help="do not look the caller up in the database")
    dry.set_defaults(handler=_flows_simulate)
    graph = flow_commands.add_parser("graph", help="draw a flow as SVG")
    graph.add_argument("flow", help="a flow file")
    graph.add_argument("-o", "--output", required=True, help="the SVG file to write")
    graph.set_defaults(handler=_flows_graph)
    schema = flow_commands.add_parser("schema", help="print the JSON Schema of the flow language")
    schema.set_defaults(handler=_flows_schema)


def _flow_checking(settings: Settings) -> dict[str, object]:
    from pathlib import Path

    return {
        "queues": [queue.name for queue in settings.hotline.queues],
        "sounds_dirs": [Path(settings.ivr.flows_dir), Path(settings.ivr.asterisk_sounds_dir)],
    }


async def _flows_check(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from ctiserver.ivr.loader import check_files

    paths = [Path(f) for f in args.files] or sorted(Path(settings.ivr.flows_dir).glob("*.yaml"))  # noqa: ASYNC240
    if not paths:
        print(f"ctiserver: no flow files in {settings.ivr.flows_dir}", file=sys.stderr)
        return 2
    problems = check_files(paths, **_flow_checking(settings))  # type: ignore[arg-type]
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {len(paths)} file(s)", file=sys.stderr)
        return 1
    print(f"{len(paths)} flow file(s) OK")
    return 0


def _load_one_flow(settings: Settings, file: str) -> Flow | None:
    from pathlib import Path

    from ctiserver.ivr.loader import FlowError, load_flow_file

    try:
        return load_flow_file(
            Path(file),
            queues=[queue.name for queue in settings.hotline.queues],
            sounds_dirs=[Path(settings.ivr.flows_dir), Path(settings.ivr.asterisk_sounds_dir)],
        )
    except FlowError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


async def _flows_simulate(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import datetime

    from ctiserver.calendar import DayRules
    from ctiserver.ivr.dryrun import dry_run
    from ctiserver.ivr.services import LookupOnlyServices
    from ctiserver.storage.database import Database
    from ctiserver.tickets import TicketRepository

    flow = _load_one_flow(settings, args.flow)
    if flow is None:
        return 1
    at = datetime.fromisoformat(args.at) if args.at else None
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    presses = args.dtmf.split(",") if args.dtmf else []
    db = None if args.no_lookup else Database(settings.database.url)
    try:
        services = None if db is None else LookupOnlyServices(
            db, settings.hotline.region, timezone=settings.hotline.timezone,
            tickets=TicketRepository(db, timezone=settings.hotline.timezone),
        )
        run, lines = await dry_run(
            flow, presses, caller_number=args.caller, services=services,
            clock=(lambda: at) if at is not None else None, days=DayRules.from_settings(settings.calendar),
        )
    finally:
        if db is not None:
            await db.close()
    print("\n".join(lines))
    return 0 if run.error is None else 1


async def _flows_graph(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.ivr.graph import flow_to_svg

    flow = _load_one_flow(settings, args.flow)
    if flow is None:
        return 1
    try:
        svg = flow_to_svg(flow)
    except RuntimeError as exc:
        print(f"ctiserver: {exc}", file=sys.stderr)
        return 1
    with open(args.output, "w", encoding="utf-8") as out:  # noqa: ASYNC230  (the command's last step)
        out.write(svg)
    print(f"{args.output}: {len(flow.nodes)} nodes")
    return 0


async def _flows_schema(settings: Settings, args: argparse.Namespace) -> int:
    from ctiserver.resources import flow_schema

    print(flow_schema().read_text(encoding="utf-8"))
    return 0
