"""The contact center's services: agents at their desks, screen pops, the wallboard.

Each service checks preconditions and then acts (AMI actions, database, pushes);
the state itself lives in the plain domain classes of ``ctiserver.domain``.
"""
