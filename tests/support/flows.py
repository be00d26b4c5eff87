"""IVR flows the integration tests run on (YAML, as an operator would write them)."""

from __future__ import annotations

#: a lookup of the caller, then the support queue, VIPs first (the ACD and restart tests)
ACD_FLOW = """\
flow: acd
entry: "4008001234"
language: zh
start: who
nodes:
  who: {kind: lookup, by: caller_id, found: support, vip: support, not_found: support}
  support: {kind: queue, queue: support, priority: 0, vip_priority: 10}
"""
