"""Keep secrets out of texts: URLs lose their credentials in logs, errors and issues."""

from __future__ import annotations

import re
from typing import Final

# The user-information part of any URL in a text ("ws://user:pass@"). Greedy up
# to the last "@" before the path: a password typed with a raw "@" goes too.
_USERINFO: Final = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s]+@")


def redact_url(text: str, *, marker: str = "") -> str:
    """
    Return `text` with the user name and password of every URL in it removed.

    A server behind a reverse proxy needs credentials in its URL; logs, error
    messages and repair issues show the host, port and path only. With a
    `marker`, the credentials are replaced by it (diagnostics show that there
    were some).
    """
    return _USERINFO.sub(lambda match: f"{match[1]}{marker}@" if marker else match[1], text)
