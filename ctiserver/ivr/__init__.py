"""IVR flows: the YAML language of ``ivr_flows/README.md``, its validation and drawing, and the
hotline that runs callers through the flows in force.

Other features may use:

* the flow language (``Flow``, ``load_flow``, ``check_files`` ...);
* ``HotlineIvr`` and ``LiveIvr``: run a caller through a flow (return visits' surveys) and
  what a caller did in the IVR now (pops);
* ``PromptLibrary`` and ``prompt_dirs``: synthesised prompts (the callback key's);
* ``IvrRunRepository``: what callers chose in the IVR (callbacks).

The IVR itself imports neither tickets nor callbacks: the composition root hands it those
services (``ivr.services``: ``TicketOpener``, ``CallbackRequests``).

Read model (read only, exported on purpose): ``CallSurvey`` and ``IvrRun``, the surveys' scores and the runs,
for reports and surveys.
"""

from ctiserver.ivr.hotline import HotlineIvr, LiveIvr
from ctiserver.ivr.loader import SCHEMA_PATH, Flow, FlowError, FlowProblem, check_files, load_flow, load_flow_file
from ctiserver.ivr.prompts import PromptLibrary, prompt_dirs
from ctiserver.ivr.store import IvrRunRepository
from ctiserver.ivr.tables import CallSurvey, IvrRun

__all__ = [
    "SCHEMA_PATH",
    "CallSurvey",
    "Flow",
    "FlowError",
    "FlowProblem",
    "HotlineIvr",
    "IvrRun",
    "IvrRunRepository",
    "LiveIvr",
    "PromptLibrary",
    "check_files",
    "load_flow",
    "load_flow_file",
    "prompt_dirs",
]
