"""Check a parsed flow against the language of ``ivr_flows/README.md``.

The flow is loaded by ruamel's round-trip loader, whose mappings and sequences
remember the line and column of every key, value and item. Each check gets a value
together with its position, so every problem points at the exact spot in the file.
The output is plain Python data with the README's defaults filled in; problems are
``(line, column, message)`` triples, 1-based, and the loader adds the file name.

Checks keep going after a problem so that one run reports everything.

The modules, from the words up: ``vocabulary`` (the fixed choices and name
patterns), ``positions`` (where a value stands in the file), ``fields`` (how a check
works and the checks made of other checks), ``values`` (prompts, references, times,
queues, conditions...), ``nodes`` (each node kind's fields), ``references`` (the ways
between nodes, dangling references, unreachable nodes) and ``flow`` (the whole flow:
``validate_flow``).
"""

from ctiserver.ivr.validation.flow import Checked, validate_flow

__all__ = ["Checked", "validate_flow"]
