"""Two (or more) Asterisk boxes in the lab, from the one install (docs/deploy.md, "Two Asterisk
boxes"): each box renders the same templates with its own ports and directories, and what
makes it a queue box or an edge (its trunks, who is rung where) from :func:`box_view`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ctiserver.lab.isolated import free_port
from ctiserver.settings import EdgeBoxSettings, Settings


@dataclass(frozen=True)
class Peer:
    """Another box, as this one's trunk reaches it."""

    name: str
    sip_host: str
    sip_port: int
    #: customers it may call at once for the queue box (callbacks, visits); 0: no limit
    outbound_lines: int = 0


@dataclass(frozen=True)
class BoxView:
    """What the templates need to know of the box they render."""

    name: str
    queue_box: bool
    queue_box_name: str
    peers: tuple[Peer, ...]
    #: (extension, box) of each agent whose phone is on another box (rung through its trunk);
    #: on an edge, the lab's other agents (its [lab-agents]; [cti-agents] sends any other
    #: extension to the queue box)
    remote_agents: tuple[tuple[str, str], ...]
    #: the agents whose phones are on this edge (empty on the queue box)
    local_agents: tuple[str, ...] = ()
    #: Asterisk's entity id (asterisk.conf): shared device states are told apart by it
    entity_id: str = ""
    #: the devices whose states the boxes share (a regular expression), from
    #: hotline.agent_state_interface; "": none
    shared_states: str = ""
    #: an edge tries this many times, a second apart, to send a caller on to the queue box
    forward_tries: int = 5
    #: the queue box: customers its own carrier trunk may call at once (0: no limit)
    outbound_lines: int = 0


def box_view(settings: Settings, edge: EdgeBoxSettings | None) -> BoxView | None:
    """The view of the queue box (``edge`` None) or of an edge; None with a single box."""
    boxes = settings.boxes
    if not boxes.edges:
        return None
    state = settings.hotline.agent_state_interface
    shared = "^" + re.escape(state.partition("{extension}")[0]) if state else ""
    if edge is None:
        return BoxView(
            name=boxes.name, queue_box=True, queue_box_name=boxes.name,
            peers=tuple(Peer(e.name, e.sip_host, e.sip_port, e.outbound_lines) for e in boxes.edges),
            remote_agents=tuple((ext, e.name) for e in boxes.edges for ext in e.agents),
            entity_id=entity_id(0), shared_states=shared, outbound_lines=boxes.outbound_lines,
        )
    # an edge reaches every agent not on it through the queue box, which rings them further
    elsewhere = [ext for ext in settings.lab.agents if ext not in edge.agents]
    elsewhere += [ext for e in boxes.edges if e is not edge for ext in e.agents if ext not in elsewhere]
    return BoxView(
        name=edge.name, queue_box=False, queue_box_name=boxes.name,
        peers=(Peer(boxes.name, boxes.sip_host, settings.asterisk.sip_port),),
        remote_agents=tuple((ext, boxes.name) for ext in elsewhere), local_agents=edge.agents,
        entity_id=entity_id(1 + boxes.edges.index(edge)), shared_states=shared,
    )


def entity_id(index: int) -> str:
    """A locally administered MAC-like id per box (two boxes on one machine would share its MAC)."""
    return f"02:00:00:00:00:{index + 1:02x}"


def edge_settings(settings: Settings, edge: EdgeBoxSettings) -> Settings:
    """The settings an edge box is rendered with: its AMI and SIP ports, its own directories.

    The lab's browser phones register on the queue box only (an edge's agents answer by
    themselves); the prompts and recordings paths stay the queue box's, which an edge in the
    same chroot reads and writes as a shared directory would be in production.
    """
    return settings.replace(
        ami={"host": edge.ami_host, "port": edge.ami_port},
        asterisk={"run_dir": f"{settings.asterisk.run_dir}-{edge.name}", "sip_port": edge.sip_port},
        webrtc={"enabled": False},
    )


#: several boxes in the lab: each lab agent's phone is a Custom device the boxes share
LAB_SHARED_STATE = {"agent_state_interface": "Custom:agent{extension}"}


def lab_boxes(settings: Settings, count: int) -> Settings:
    """``ctiserver lab --boxes N``: N-1 edges on free ports; the lab's agents shared out, the
    first ones on the queue box, then as many on each edge."""
    if count < 1:
        raise ValueError("--boxes: at least 1")
    if count == 1:
        return settings
    agents = list(settings.lab.agents)
    share = max(1, len(agents) // count)
    edges = []
    for index in range(1, count):
        mine = agents[index * share:(index + 1) * share] if index < count - 1 else agents[index * share:]
        edges.append(EdgeBoxSettings(
            name=f"box-{index + 1}", ami_port=free_port(), sip_port=free_port(), agents=tuple(mine),
        ))
    return settings.replace(boxes={"edges": tuple(edges)})
