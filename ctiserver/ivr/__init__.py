"""IVR flows: the YAML language of ``ivr_flows/README.md``, its validation and drawing."""

from ctiserver.ivr.loader import (
    SCHEMA_PATH,
    Flow,
    FlowError,
    FlowProblem,
    check_files,
    load_flow,
    load_flow_file,
)

__all__ = [
    "SCHEMA_PATH",
    "Flow",
    "FlowError",
    "FlowProblem",
    "check_files",
    "load_flow",
    "load_flow_file",
]
