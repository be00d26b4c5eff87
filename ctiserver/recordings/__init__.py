"""Call recording: every answered queue call and transfer leg recorded by Asterisk's
MixMonitor (started over AMI when an agent's leg connects), indexed once the file is
complete, found and replayed through ``/api/recordings``.

Other features use nothing of it; the composition root and the commands use its plugin and
commands.
"""

__all__: list[str] = []
