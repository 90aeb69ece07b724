"""`accounts list`'s view of an account: what it is and how it logs in, never a secret."""

from __future__ import annotations

from faxtui.config.model import AccountConfig
from faxtui.services.registry import adapter_for


def describe_account(acc: AccountConfig) -> dict[str, str]:
    """What `accounts list` shows: name, service, endpoint, user, auth, poll. Never a secret."""
    adapter = adapter_for(acc.service)
    return {
        "name": acc.name,
        "service": acc.service,
        "endpoint": acc.endpoint,
        "user": adapter.user(acc) or "",
        "auth": adapter.describe_auth(acc),
        "poll": f"every {acc.poll_seconds:g} s",
    }
