"""The Kafka topics every process and channel system uses, and their retention policy.

`contactmoment topics create` makes them all (idempotently) with CONTACTMOMENT_TOPIC_PARTITIONS
partitions; records are keyed by customer key, so everything about a customer is in order on
one partition (a dead letter keeps the key of the record it holds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

EVENTS = "contact.events.v1"
SIGNALS = "contact.signals.v1"
NOTIFICATIONS = "contact.notifications.v1"
DEADLETTER = "contact.deadletter.v1"
ACCESS = "contact.access.v1"

_FOREVER = "-1"
_DAYS_30 = str(30 * 24 * 3600 * 1000)


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its name, what it carries, and the broker configs it is created with."""

    name: str
    carries: str
    """One line for the AsyncAPI document and `topics create` output."""
    configs: dict[str, str] = field(default_factory=dict)


TOPICS: tuple[TopicSpec, ...] = (
    # Kafka is the source of truth: the read model is rebuilt from these, so keep them all.
    TopicSpec(
        EVENTS,
        "contact events from every channel, keyed by customer key",
        {"retention.ms": _FOREVER, "cleanup.policy": "delete"},
    ),
    TopicSpec(
        SIGNALS,
        "deadline warnings, breaches, escalations, late answers",
        {"retention.ms": _FOREVER, "cleanup.policy": "delete"},
    ),
    TopicSpec(
        NOTIFICATIONS,
        "proactive notifications to customers, staff and regieteam",
        {"retention.ms": _FOREVER, "cleanup.policy": "delete"},
    ),
    # The access log is evidence of every staff read: kept as long as the events it covers.
    TopicSpec(
        ACCESS,
        "access log: one record per staff read of a customer's personal data",
        {"retention.ms": _FOREVER, "cleanup.policy": "delete"},
    ),
    # Rejected records wait here for a person; a month is long enough to notice and replay.
    TopicSpec(
        DEADLETTER,
        "records any consumer rejected, with error.reason/error.source",
        {"retention.ms": _DAYS_30, "cleanup.policy": "delete"},
    ),
)
