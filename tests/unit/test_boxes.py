"""Two Asterisk boxes: the settings, and what each box's rendered configuration holds
(docs/deploy.md, "Two Asterisk boxes"). The boxes themselves: tests/integration/test_two_boxes.py."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

import pytest

from ctiserver.lab.asterisk import AsteriskLayout, render_config
from ctiserver.lab.boxes import box_view, edge_settings, lab_boxes
from ctiserver.lab.provision import AsteriskInstall
from ctiserver.operations.check import trunk_result
from ctiserver.operations.snippets import dialplan_contexts, render_snippets
from ctiserver.settings import EdgeBoxSettings, Settings, SettingsError, load_settings

INSTALL = AsteriskInstall(root=Path("/"), binary="asterisk", modules_dir="/m", data_dir="/d")
LAB = Settings().replace(hotline={"agent_interface": "Local/{extension}@lab-agents/n"})
TWO = LAB.replace(boxes={"edges": (EdgeBoxSettings(name="box-2", ami_port=5039, sip_port=5070,
                                                   agents=("1003", "1004")),)})


def context(text: str, name: str) -> str:
    """The lines of one dialplan or pjsip section, without its comments."""
    match = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    assert match is not None, f"no [{name}]"
    return "\n".join(line for line in match.group(1).splitlines() if not line.startswith(";"))


def test_edges_come_from_the_settings_file_and_one_box_is_the_default(tmp_path: Path) -> None:
    assert Settings().boxes.edges == ()
    path = tmp_path / "settings.toml"
    path.write_text('[boxes]\nname = "hub"\n[[boxes.edges]]\nname = "site-b"\nami_host = "10.0.0.2"\n'
                    'sip_host = "10.0.0.2"\nagents = ["2001", "2002"]\n', encoding="utf-8")
    settings = load_settings(path, environ={})
    [edge] = settings.boxes.edges
    assert (settings.boxes.name, edge.name, edge.agents) == ("hub", "site-b", ("2001", "2002"))
    assert settings.boxes.edge_of("2002") is edge and settings.boxes.edge_of("1001") is None
    ami = settings.edge_ami(edge)
    assert (ami.host, ami.port, ami.secret) == ("10.0.0.2", 5038, settings.ami.secret)


@pytest.mark.parametrize("edges", [
    ({"name": "box-1"},),                                    # the queue box's own name
    ({"name": "b2"}, {"name": "b2"}),                        # twice
    ({"name": "b 2"},),                                      # not a plain name (it goes into pjsip.conf)
    ({"name": "b2", "agents": ["1001"]}, {"name": "b3", "agents": ["1001"]}),  # a phone on two boxes
    ({"name": "b2", "agents": ["10;01"]},),
])
def test_edges_that_cannot_be_rendered_are_refused(tmp_path: Path, edges: tuple[dict[str, object], ...]) -> None:
    path = tmp_path / "settings.toml"
    lines = ["[boxes]"]
    for edge in edges:
        lines.append("[[boxes.edges]]")
        lines += [f"{key} = {value!r}".replace("'", '"') for key, value in edge.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SettingsError):
        load_settings(path, environ={})


def test_one_box_renders_no_trunk_and_the_snippets_stay_as_they_were(tmp_path: Path) -> None:
    assert box_view(LAB, None) is None
    etc = render_config(LAB, INSTALL, AsteriskLayout(base=str(tmp_path / "one")), None)
    assert "cti-from-boxes" not in (etc / "extensions.conf").read_text()
    assert "context = cti-from-boxes" not in (etc / "pjsip.conf").read_text()  # no trunk to another box
    assert "PJSIP_DIAL_CONTACTS" not in render_snippets(LAB)["extensions_ctiserver.conf"]
    assert "cti-from-boxes" not in dialplan_contexts(LAB)


def test_the_queue_box_rings_an_edges_agents_through_its_trunk(tmp_path: Path) -> None:
    view = box_view(TWO, None)
    assert view is not None and view.queue_box
    assert view.remote_agents == (("1003", "box-2"), ("1004", "box-2"))
    etc = render_config(TWO, INSTALL, AsteriskLayout(base=str(tmp_path / "one")), view)
    dialplan = (etc / "extensions.conf").read_text()
    agents = context(dialplan, "lab-agents")
    assert "exten => 1003,1,Goto(cti-box-box-2,${EXTEN},1)" in agents
    assert "exten => 1001" not in agents  # rung here, by the pattern
    trunk = context(dialplan, "cti-box-box-2")
    # never rung on a box that answers no OPTIONS; the call's id in the header
    assert '"${PJSIP_DIAL_CONTACTS(box-2)}" = ""]?down' in trunk
    assert "Dial(PJSIP/${EXTEN}@box-2,,b(cti-box-out^s^1))" in trunk
    assert "PJSIP_HEADER(add,X-CTI-Call)=${CHANNEL(linkedid)}" in context(dialplan, "cti-box-out")
    # the queue box's hotline is the one of a single box: no forwarding
    assert "@box-" not in context(dialplan, "hotline")
    pjsip = (etc / "pjsip.conf").read_text()
    assert "contact = sip:box-2@127.0.0.1:5070" in pjsip
    endpoint = pjsip.split("[box-2]\ntype = endpoint\n", 1)[1].split("\n\n", 1)[0]
    assert "from_user = box-1" in endpoint and "context = cti-from-boxes" in endpoint
    assert "rtp_timeout = 20" in endpoint and "trust_id_inbound = yes" in endpoint


def test_an_edge_sends_its_callers_to_the_queue_box_and_keeps_them_when_it_is_unreachable(
    tmp_path: Path,
) -> None:
    [edge] = TWO.boxes.edges
    view = box_view(TWO, edge)
    assert view is not None and not view.queue_box
    assert [peer.name for peer in view.peers] == ["box-1"]
    settings = edge_settings(TWO, edge)
    assert (settings.ami.port, settings.asterisk.sip_port) == (5039, 5070)
    assert settings.asterisk.run_dir != TWO.asterisk.run_dir and not settings.webrtc.enabled
    etc = render_config(settings, INSTALL, AsteriskLayout(base=str(tmp_path / "two")), view)
    dialplan = (etc / "extensions.conf").read_text()
    hotline = context(dialplan, "hotline")
    forward = hotline.index("Dial(PJSIP/${EXTEN}@box-1,,b(cti-box-out^s^1))")
    assert hotline.index('"${PJSIP_DIAL_CONTACTS(box-1)}" = ""]?again') < forward \
        < hotline.index("Goto(cti-queue-box-down,s,1)")
    # tried again a second later, five times in all, before the caller stays here
    assert forward < hotline.index("GotoIf($[${CTI_FORWARD_TRIES} >= 5]?here)") < hotline.index("(here)")
    agents = context(dialplan, "lab-agents")
    assert "exten => 1001,1,Goto(cti-box-box-1,${EXTEN},1)" in agents
    assert "exten => 1003" not in agents  # its own agents ring here
    assert "contact = sip:box-1@127.0.0.1:5060" in (etc / "pjsip.conf").read_text()
    # an agent's leg arriving from the queue box rings the agent's phone here, keeping the id
    from_boxes = context(dialplan, "cti-from-boxes")
    assert "Set(CTI_CALL=${PJSIP_HEADER(read,X-CTI-Call)})" in from_boxes
    assert "Dial(Local/${EXTEN}@lab-agents/n)" in from_boxes
    # production's [cti-agents]: this edge's phones here, any other extension via the queue box
    cti_agents = context(dialplan, "cti-agents")
    assert "exten => 1003,1,Dial(PJSIP/${EXTEN})" in cti_agents
    assert "exten => _X.,1,Goto(cti-box-box-1,${EXTEN},1)" in cti_agents


def test_in_production_a_leg_from_another_box_rings_the_phone_here_never_back(tmp_path: Path) -> None:
    """With hotline.agent_interface through [cti-agents], a leg arriving over the trunk rings
    the PJSIP phone on this box: never [cti-agents] again, which could send it back."""
    [edge] = TWO.boxes.edges
    production = TWO.replace(hotline={"agent_interface": "Local/{extension}@cti-agents/n"})
    for box in (None, edge):
        settings = production if box is None else edge_settings(production, box)
        etc = render_config(settings, INSTALL, AsteriskLayout(base=str(tmp_path / str(box))),
                            box_view(production, box))
        from_boxes = context((etc / "extensions.conf").read_text(), "cti-from-boxes")
        assert "Dial(PJSIP/${EXTEN})" in from_boxes and "cti-agents" not in from_boxes


def test_the_lab_shares_its_agents_out_over_the_boxes() -> None:
    assert lab_boxes(LAB, 1) is LAB
    two = lab_boxes(LAB, 2)
    [edge] = two.boxes.edges
    assert (edge.name, edge.agents) == ("box-2", ("1003", "1004"))
    three = lab_boxes(LAB, 3)
    assert [(e.name, e.agents) for e in three.boxes.edges] == [("box-2", ("1002",)), ("box-3", ("1003", "1004"))]
    assert len({e.ami_port for e in three.boxes.edges} | {e.sip_port for e in three.boxes.edges}) == 4


def test_the_boxes_share_the_agents_device_states_when_members_have_a_state_interface(tmp_path: Path) -> None:
    shared = TWO.replace(hotline={"agent_state_interface": "Custom:agent{extension}"})
    [edge] = shared.boxes.edges
    rendered = {}
    for box in (None, edge):
        settings = shared if box is None else edge_settings(shared, box)
        view = box_view(shared, box)
        assert view is not None and view.shared_states == "^Custom:agent"
        rendered[view.name] = render_config(settings, INSTALL, AsteriskLayout(base=str(tmp_path / view.name)), view)
    ids = {name: re.findall(r"^entityid = (.+)$", (etc / "asterisk.conf").read_text(), re.MULTILINE)
           for name, etc in rendered.items()}
    assert ids == {"box-1": ["02:00:00:00:00:01"], "box-2": ["02:00:00:00:00:02"]}
    pjsip = (rendered["box-1"] / "pjsip.conf").read_text()
    # box-1 publishes to box-2 as the resource "box-1", and takes box-2's publications
    assert "[box-2-devicestate]\ntype = outbound-publish\nserver_uri = sip:box-1@127.0.0.1:5070\n" in pjsip
    assert "@device_state_filter = ^Custom:agent" in pjsip
    assert "type = inbound-publication\nendpoint = box-2\nevent_asterisk-devicestate = box-2" in pjsip
    assert "device_state = yes\ndevice_state_filter = ^Custom:agent" in pjsip
    assert "server_uri = sip:box-2@127.0.0.1:5060" in (rendered["box-2"] / "pjsip.conf").read_text()
    assert "load = res_pjsip_publish_asterisk.so" in (rendered["box-2"] / "modules.conf").read_text()
    agents = context((rendered["box-2"] / "extensions.conf").read_text(), "lab-agents")
    assert "Set(DEVICE_STATE(Custom:agent${EXTEN})=RINGING)" in agents
    assert "Set(DEVICE_STATE(Custom:agent${EXTEN})=INUSE)" in agents
    # without a state interface nothing is published
    plain = render_config(TWO, INSTALL, AsteriskLayout(base=str(tmp_path / "plain")), box_view(TWO, None))
    assert "outbound-publish" not in (plain / "pjsip.conf").read_text()


class FakeQueueBox:
    """Box-1's AMI as EdgeBoxes uses it: the trunk's contacts, its channels, hang-ups."""

    def __init__(self, contacts: list[str], channels: list[str]) -> None:
        self.contacts = contacts
        self.channels = channels
        self.hung_up: list[str] = []

    async def send_action(self, fields: dict[str, str]) -> dict[str, str]:
        if fields["Action"] == "Getvar":
            assert fields["Variable"] == "PJSIP_DIAL_CONTACTS(box-2)"
            return {"Value": self.contacts.pop(0) if len(self.contacts) > 1 else self.contacts[0]}
        assert fields["Action"] == "Hangup"
        self.hung_up.append(fields["Channel"])
        return {}

    async def send_list_action(self, fields: dict[str, str]) -> list[dict[str, str]]:
        return [{"Event": "CoreShowChannel", "Channel": c} for c in self.channels]


class FakeEdgeLink:
    connected = False


async def test_a_dead_edge_ends_only_its_trunk_calls_once_its_trunk_answers_no_more() -> None:
    from ctiserver.telephony.boxes import EdgeBoxes

    queue_box = FakeQueueBox(
        ["PJSIP/box-2/sip:box-2@127.0.0.1:5070", ""],
        ["PJSIP/box-2-00000001", "Local/1001@lab-agents-00000002;1", "PJSIP/box-22-00000003",
         "PJSIP/box-2-00000004"],
    )
    boxes = EdgeBoxes(TWO, queue_box)  # type: ignore[arg-type]
    [box] = boxes.boxes
    box.link = FakeEdgeLink()  # type: ignore[assignment]
    await boxes._watch_dead(box)
    assert queue_box.hung_up == ["PJSIP/box-2-00000001", "PJSIP/box-2-00000004"]
    assert box.to_dict() == {"name": "box-2", "ami": False, "dead": True, "calls_ended": 2}
    assert await boxes.check() == (False, {"edges": [box.to_dict()]})


async def test_an_edge_whose_ami_comes_back_while_its_trunk_answers_loses_no_call() -> None:
    from ctiserver.telephony.boxes import EdgeBoxes

    queue_box = FakeQueueBox(["PJSIP/box-2/sip:box-2@127.0.0.1:5070"], ["PJSIP/box-2-00000001"])
    boxes = EdgeBoxes(TWO, queue_box)  # type: ignore[arg-type]
    [box] = boxes.boxes
    link = FakeEdgeLink()
    box.link = link  # type: ignore[assignment]
    watch = asyncio.create_task(boxes._watch_dead(box))
    await asyncio.sleep(0.1)
    link.connected = True  # the AMI link is back: a hiccup, not a death
    await asyncio.wait_for(watch, 5)
    assert queue_box.hung_up == [] and not box.dead


def test_the_snippets_render_every_box_for_production(tmp_path: Path) -> None:
    """`ctiserver asterisk snippets` with edges: the queue box's files with its trunks and the
    boxes' contexts, and each edge's in its folder; the same sections the lab's boxes run."""
    settings = TWO.replace(hotline={"callback_interface": "PJSIP/{number}@carrier"},
                           boxes={"outbound_lines": 30})
    snippets = render_snippets(settings, "10.0.0.5")
    assert set(snippets) == {
        *(f"{box}{name}" for box in ("", "box-2/") for name in (
            "manager_ctiserver.conf", "queues_ctiserver.conf", "extensions_ctiserver.conf",
            "pjsip_ctiserver_boxes.conf")),
    }
    queue_box, edge = snippets["extensions_ctiserver.conf"], snippets["box-2/extensions_ctiserver.conf"]
    assert "Goto(cti-box-box-2,${EXTEN},1)" in context(queue_box, "cti-agents")
    assert "GROUP_COUNT(box-1@cti-callout)} < 30" in context(queue_box, "cti-callout")
    assert "Gosub(cti-callout,s,1(${EXTEN}))" in context(queue_box, "callback")
    assert "Dial(PJSIP/${EXTEN}@box-1,,b(cti-box-out^s^1))" in context(edge, "hotline")
    assert "exten => _callout-X.,1" in context(edge, "cti-from-boxes")
    assert "Dial(PJSIP/${EXTEN:8}@carrier,30)" in context(edge, "cti-from-boxes")
    assert "[cti-callout]" not in edge
    assert "contact = sip:box-2@127.0.0.1:5070" in snippets["pjsip_ctiserver_boxes.conf"]
    assert "from_user = box-2" in snippets["box-2/pjsip_ctiserver_boxes.conf"]
    # the lab's queue box runs the same trunk section
    lab = render_config(settings, INSTALL, AsteriskLayout(base=str(tmp_path / "one")), box_view(settings, None))
    trunks = snippets["pjsip_ctiserver_boxes.conf"].partition("\n\n")[2]
    assert trunks.startswith("; Trunks to the other boxes") and trunks in (lab / "pjsip.conf").read_text()
    # one box: no folder, no trunks
    assert set(render_snippets(LAB, "10.0.0.5")) == {
        "manager_ctiserver.conf", "queues_ctiserver.conf", "extensions_ctiserver.conf"}


def test_the_check_names_what_is_wrong_with_an_edges_trunk() -> None:
    [edge] = TWO.boxes.edges
    assert trunk_result("box-1", edge, "sip:box-2@127.0.0.1:5070", "sip:box-1@127.0.0.1:5060", []).ok
    unreachable = trunk_result("box-1", edge, None, None, None)
    assert not unreachable.ok and "127.0.0.1:5039" in unreachable.detail
    lacking = trunk_result("box-1", edge, "sip:x", "sip:y", ["[cti-from-boxes]"])
    assert not lacking.ok and "[cti-from-boxes]" in lacking.detail and "snippets" in lacking.fix
    silent = trunk_result("box-1", edge, "", "sip:y", [])
    assert not silent.ok and "queue box has no reachable contact" in silent.detail
    one_way = trunk_result("box-1", edge, "sip:x", "", [])
    assert not one_way.ok and "boxes.sip_host" in one_way.fix


def test_with_the_queue_box_unreachable_an_edges_callers_hear_why_and_go_to_the_fallback() -> None:
    """No edge queue has agents (the server logs them in to the queue box's queues only): a
    caller kept on the edge is told and sent on, never left in a queue with no member."""
    settings = TWO.replace(boxes={"fallback": "PJSIP/4008001234@carrier"})
    edge = render_snippets(settings, "10.0.0.5")["box-2/extensions_ctiserver.conf"]
    hotline = context(edge, "hotline")
    assert "Goto(cti-queue-box-down,s,1)" in hotline
    assert "Queue(" not in hotline and "AGI(" not in hotline and "cti-agi" not in hotline
    down = context(edge, "cti-queue-box-down")
    assert "Playback(all-circuits-busy-now)" in down and "Dial(PJSIP/4008001234@carrier,60)" in down
    assert "Dial(" not in context(render_snippets(TWO, "10.0.0.5")["box-2/extensions_ctiserver.conf"],
                                  "cti-queue-box-down")
    # the queue box's [hotline] runs the IVR and the queues as before
    assert "Gosub(cti-agi,${EXTEN},1(hotline))" in context(render_snippets(settings, "10.0.0.5")[
        "extensions_ctiserver.conf"], "hotline")
    with pytest.raises(SettingsError):
        TWO.replace(boxes={"fallback": "PJSIP/1,,x"})


def test_an_agent_ready_whose_phone_is_in_use_elsewhere_is_shown_busy() -> None:
    """The device state another box shares (the member's Status) makes a ready agent busy on the
    supervisor's page; their own queue call or a phone merely ringing does not."""
    from ctiserver.agents.model import Agent, AgentState
    from ctiserver.telephony.events import DeviceStatus

    agent = Agent("Local/1003@lab-agents/n", "1003", state=AgentState.READY, device_status=DeviceStatus.INUSE)
    assert agent.phone_busy
    assert not dataclasses.replace(agent, device_status=DeviceStatus.RINGING).phone_busy
    assert not dataclasses.replace(agent, device_status=DeviceStatus.NOT_INUSE).phone_busy
    assert not dataclasses.replace(agent, state=AgentState.ON_CALL).phone_busy
