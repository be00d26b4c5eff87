"""SMS notices (docs/sms.md): the ticket-event feed's ``sms-notices`` consumer writes one
outbox row per notice a ticket event owes (to the customer: accepted, completed, the
return visit's survey; to the engineer: the task), a sender sends each at most once
through a provider (Aliyun SMS, a signed webhook, or the lab's log) outside quiet hours,
unless the customer opted out; inbound SMS from a known customer open a ticket or add a
note to their open one.

Other features use nothing of it; the composition root registers the plugin.
"""

__all__: list[str] = []
