"""Team mode: several faxtui processes (pollers and viewers, on one machine or many) meeting in one
state store. `leases` decides who polls an account; `follow` brings what others polled into a
process that does not poll it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TeamOptions"]


@dataclass(frozen=True, slots=True)
class TeamOptions:
    """How a poller takes part in team mode (`faxtui.poller.Poller(team=...)`)."""

    holder: str
    """This process's name in the store and to viewers (`leases.holder_name()`: `host:pid`)."""
    poll: bool = True
    """Poll the configured accounts whose lease this process wins; False: never poll (`--follow`)."""
    follow: bool = True
    """Keep the picture of accounts others poll (viewers); a headless poller does not need it."""
    sync_seconds: float = 0.25
    """How often the store is asked whether another process committed something (well under the
    second in which a viewer must show a poller's change)."""
