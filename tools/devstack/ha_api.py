"""
Home Assistant's own HTTP API, as scripts/develop and the browser check use it.

Onboarding is done the way the frontend does it (the same endpoints, in the same
order), so a fresh config folder ends with a real local user whose name and
password are printed for the person at the keyboard.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

DEV_USERNAME = "dev"
DEV_PASSWORD = "no-neutral-dev"  # noqa: S105 (documented local development login)
DEV_NAME = "Developer"


class HomeAssistantAPIError(RuntimeError):
    """An HTTP call to Home Assistant failed."""


@dataclass
class HomeAssistantAPI:
    """A small synchronous client for one Home Assistant instance."""

    base_url: str
    token: str | None = None

    @property
    def client_id(self) -> str:
        """The OAuth client id the frontend would use (its own URL)."""
        return f"{self.base_url}/"

    def request(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        form: dict[str, str] | None = None,
    ) -> Any:
        """Send a request and return its decoded JSON body (None when empty)."""
        headers = {}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(  # noqa: S310 (loopback only)
            self.base_url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            msg = f"{method} {path}: HTTP {err.code}: {detail}"
            raise HomeAssistantAPIError(msg) from err
        return json.loads(body) if body else None

    def wait_until_up(self, timeout: float = 300) -> None:
        """Wait until HA's HTTP server answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                # Served from the start, onboarded or not (/api/onboarding is
                # gone once onboarding is over).
                self.request("GET", "/manifest.json")
            except OSError, HomeAssistantAPIError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
            else:
                return

    def _exchange_code(self, code: str) -> None:
        tokens = self.request(
            "POST",
            "/auth/token",
            form={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
        )
        self.token = tokens["access_token"]

    def onboard_or_login(self) -> bool:
        """
        Finish onboarding with the development user, or log in as it.

        Returns True when this call did the onboarding.
        """
        try:
            progress = self.request("GET", "/api/onboarding")
        except HomeAssistantAPIError as err:
            if "HTTP 404" not in str(err):
                raise
            progress = []  # onboarding finished in an earlier run
        steps = {step["step"]: step["done"] for step in progress}
        if not steps.get("user", True):
            created = self.request(
                "POST",
                "/api/onboarding/users",
                {
                    "client_id": self.client_id,
                    "name": DEV_NAME,
                    "username": DEV_USERNAME,
                    "password": DEV_PASSWORD,
                    "language": "en",
                },
            )
            self._exchange_code(created["auth_code"])
            did_onboard = True
        else:
            self.login()
            did_onboard = False
        if not steps.get("core_config", True):
            self.request("POST", "/api/onboarding/core_config", {})
        if not steps.get("analytics", True):
            self.request("POST", "/api/onboarding/analytics", {})
        if not steps.get("integration", True):
            self.request(
                "POST",
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": f"{self.base_url}/?auth_callback=1"},
            )
        return did_onboard

    def login(self, username: str = DEV_USERNAME, password: str = DEV_PASSWORD) -> None:
        """Log in through HA's login flow, as the login page does."""
        flow = self.request(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.base_url}/?auth_callback=1",
            },
        )
        result = self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": username, "password": password},
        )
        if result.get("type") != "create_entry":
            msg = f"login refused: {result.get('errors')}"
            raise HomeAssistantAPIError(msg)
        self._exchange_code(result["result"])

    def state(self, entity_id: str) -> dict[str, Any]:
        """Return an entity's state object."""
        state: dict[str, Any] = self.request("GET", f"/api/states/{entity_id}")
        return state

    def config_entries(self, domain: str) -> list[dict[str, Any]]:
        """Return the config entries of a domain."""
        entries: list[dict[str, Any]] = self.request(
            "GET", f"/api/config/config_entries/entry?domain={domain}"
        )
        return entries
