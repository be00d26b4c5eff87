"""The IVR flow interpreter: walks a validated flow (ivr_flows/README.md) over one call.

The engine only talks to a CallChannel (the phone call), a PromptSource (text and
``file:`` prompts to sound names) and FlowServices (customers, tickets, callbacks,
voicemail, surveys), so the same walk serves live calls, tests and dry runs.

A run ends with a FlowOutcome (queue, transfer or hang up), or without one when
the caller hangs up or the engine itself fails; in the latter case the dialplan's
defaults (the default queue) apply, so a caller still reaches a human. A service
that fails (database down) is logged and the call goes on as if it had found
nothing: a broken ticket system must not drop a caller.

The modules: ``runner`` (FlowEngine and the loop from node to node), ``run`` (the
path and outcome a run records), ``services`` (what the engine asks of the outside
world), ``walk`` (the state and helpers every node kind shares), and the node kinds
by what they do: ``keypad`` (menus, digit input, surveys, language choice),
``routing`` (play, hours, branch, set, goto), ``backoffice`` (customer lookup,
tickets, callbacks, voicemail) and ``handoff`` (queue, transfer, hangup, and the
channel variables the dialplan reads).
"""

from ctiserver.ivr.engine.run import Event, FlowOutcome, FlowRun, Step
from ctiserver.ivr.engine.runner import FlowEngine, now_utc
from ctiserver.ivr.engine.services import (
    CallbackRequest,
    CustomerMatch,
    FlowServices,
    PromptSource,
    TicketRequest,
    VoicemailRequest,
)

__all__ = [
    "CallbackRequest",
    "CustomerMatch",
    "Event",
    "FlowEngine",
    "FlowOutcome",
    "FlowRun",
    "FlowServices",
    "PromptSource",
    "Step",
    "TicketRequest",
    "VoicemailRequest",
    "now_utc",
]
