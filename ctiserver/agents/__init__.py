"""Agents: the directory (who is an agent, on which phone), the desk link to Asterisk's
queues and the live board of their states.

Other features may use:

* ``Agents``: what the plugin hands the composition root (board, directory, desk), passed on
  to the features that seat agents (pops, callbacks);
* ``AgentRepository``: the directory (recordings, return visits);
* the pure model, ``ctiserver.agents.model`` (``AgentBoard``, ``AgentState``, ``AgentUpdate``),
  as is: events and states other features follow.

Read model (read only, exported on purpose): ``AgentRow``, the agents' table, which tickets join to show an
agent's name. Nothing else of the package (its store, tables, routes) is for other features.
"""

from ctiserver.agents.plugin import Agents
from ctiserver.agents.store import AgentRepository
from ctiserver.agents.tables import AgentRow

__all__ = [
    "AgentRepository",
    "AgentRow",
    "Agents",
]
