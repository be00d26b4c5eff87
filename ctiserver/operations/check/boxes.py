"""``ctiserver check`` with edge boxes (``boxes.edges``; docs/deploy.md, "Two Asterisk boxes"):
each trunk as both of its ends see it, and the boxes' contexts on the edge.

The queue box must reach each edge (``PJSIP_DIAL_CONTACTS(<edge>)``: a contact answering
OPTIONS), the edge must reach the queue box the same way, and the edge must hold the boxes'
contexts (``[cti-from-boxes]``, ``[cti-box-<queue box>]``: ``ctiserver asterisk snippets``
renders them in the edge's folder). It only looks: Getvar and ShowDialPlan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ctiserver.operations.check.results import Result, ok, problem
from ctiserver.settings import AmiSettings, EdgeBoxSettings, Settings

if TYPE_CHECKING:
    from ctiserver.operations.amiprobe import AmiProbe

_SNIPPETS = "render them with `ctiserver asterisk snippets` (the edge's folder) and #include them there"


def trunk_result(
    queue_box: str, edge: EdgeBoxSettings, from_queue_box: str | None, from_edge: str | None,
    missing_contexts: Sequence[str] | None,
) -> Result:
    """``from_queue_box``/``from_edge``: the reachable contacts each end sees of the other ("":
    none; None: not asked); ``missing_contexts``: the boxes' contexts the edge lacks (None: its AMI
    was not reached)."""
    name = f"box {edge.name}"
    if missing_contexts is None:
        return problem(
            name, f"the edge's AMI at {edge.ami_host}:{edge.ami_port} does not answer or refuses [ami]'s user",
            f"boxes.edges {edge.name}: ami_host/ami_port, and the same AMI user as the queue box's in its "
            "manager.conf (manager_ctiserver.conf from the snippets)",
        )
    if missing_contexts:
        return problem(name, f"the edge lacks the dialplan contexts {', '.join(missing_contexts)}", _SNIPPETS)
    if not from_queue_box:
        return problem(
            name, f"the queue box has no reachable contact on its trunk {edge.name} "
            f"(sip:{edge.name}@{edge.sip_host}:{edge.sip_port} does not answer OPTIONS)",
            f"include pjsip_ctiserver_boxes.conf on both boxes, `module reload res_pjsip.so`; check "
            f"boxes.edges {edge.name} sip_host/sip_port and that SIP passes between the boxes",
        )
    if not from_edge:
        return problem(
            name, f"the edge has no reachable contact on its trunk {queue_box} (the queue box does not "
            "answer its OPTIONS)",
            f"include {edge.name}/pjsip_ctiserver_boxes.conf on the edge; check boxes.sip_host and "
            "asterisk.sip_port (where the edges reach the queue box)",
        )
    return ok(name, f"trunk up both ways ({from_queue_box}; back: {from_edge}), its contexts in place")


async def contacts(probe: AmiProbe, peer: str) -> str | None:
    """The reachable contacts of ``peer``'s trunk as the probed box sees them; None if refused."""
    from ctiserver.telephony.ami.actions import AmiActionFailed

    try:
        reply = await probe.ask({"Action": "Getvar", "Variable": f"PJSIP_DIAL_CONTACTS({peer})"})
    except AmiActionFailed:
        return None
    return str(reply.get("Value") or "")


async def edge_results(settings: Settings) -> list[Result]:
    """One result per edge; none with a single box."""
    from ctiserver.operations.amiprobe import AmiProbe
    from ctiserver.telephony.ami.actions import AmiActionFailed, AmiError

    boxes = settings.boxes
    if not boxes.edges:
        return []

    async def session(ami: AmiSettings) -> AmiProbe | None:
        probe = AmiProbe(ami, timeout=min(ami.action_timeout, 5.0))
        try:
            await probe.connect()
            await probe.login(events="off")
        except (OSError, TimeoutError, AmiError):
            await probe.close()
            return None
        return probe

    queue_box = await session(settings.ami)
    results = []
    try:
        for edge in boxes.edges:
            seen = await contacts(queue_box, edge.name) if queue_box is not None else None
            probe = await session(settings.edge_ami(edge))
            missing: list[str] | None = None
            back: str | None = None
            if probe is not None:
                try:
                    back = await contacts(probe, boxes.name)
                    missing = []
                    for context in ("cti-from-boxes", f"cti-box-{boxes.name}"):
                        try:
                            await probe.ask_list({"Action": "ShowDialPlan", "Context": context})
                        except AmiActionFailed:
                            missing.append(f"[{context}]")
                except AmiError:
                    missing = None
                finally:
                    await probe.close()
            results.append(trunk_result(boxes.name, edge, seen, back, missing))
    finally:
        if queue_box is not None:
            await queue_box.close()
    return results
