"""The infrastructure inventory ops_audit inspects, and its checks: pure functions over the inventory, exposed as
LangChain tools so a tool-calling model can run them too."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from langchain_core.tools import tool

DATA_DIR = Path(__file__).parent / "data"


def load_inventory() -> dict[str, Any]:
    return dict(json.loads((DATA_DIR / "inventory.json").read_text(encoding="utf-8")))


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(n), s) for n, s in re.findall(r"(\d+)([a-z]*)", version.lower()))


@tool
def check_versions(inventory: dict[str, Any]) -> list[dict[str, Any]]:
    """Packages older than the baseline's minimum versions."""
    minimums: dict[str, str] = inventory["baseline"]["min_versions"]
    found = []
    for host in inventory["hosts"]:
        for package, version in sorted(host["packages"].items()):
            wanted = minimums.get(package)
            if wanted and _version_key(version) < _version_key(wanted):
                major_behind = _version_key(version)[:1] < _version_key(wanted)[:1]
                found.append(
                    _finding(
                        host,
                        "outdated_package",
                        "high" if major_behind else "medium",
                        f"{package} {version} is older than {wanted}",
                        "upgrade_package",
                        package,
                    )
                )
    return found


@tool
def check_open_ports(inventory: dict[str, Any]) -> list[dict[str, Any]]:
    """Ports open beyond what the host's exposure allows (telnet anywhere, internal services on public hosts)."""
    baseline = inventory["baseline"]
    found = []
    for host in inventory["hosts"]:
        allowed = set(
            baseline["public_ports"] if host["public"] else baseline["public_ports"] + baseline["internal_ports"]
        )
        for port in host["open_ports"]:
            if port == 23 or port not in allowed:
                severity = "high" if port == 23 or host["public"] else "medium"
                found.append(_finding(host, "exposed_port", severity, f"port {port} is open", "close_port", str(port)))
    return found


@tool
def check_disks(inventory: dict[str, Any]) -> list[dict[str, Any]]:
    """Disks above the baseline's warning level."""
    limit = inventory["baseline"]["disk_warn_pct"]
    return [
        _finding(
            h,
            "disk_pressure",
            "high" if h["disk_used_pct"] >= 90 else "medium",
            f"disk {h['disk_used_pct']}% used",
            "free_disk_space",
        )
        for h in inventory["hosts"]
        if h["disk_used_pct"] >= limit
    ]


@tool
def check_certificates(inventory: dict[str, Any]) -> list[dict[str, Any]]:
    """TLS certificates expiring within the baseline's warning window (counted from the inventory's date)."""
    as_of = date.fromisoformat(inventory["as_of"])
    found = []
    for host in inventory["hosts"]:
        if host.get("cert_expiry"):
            days = (date.fromisoformat(host["cert_expiry"]) - as_of).days
            if days <= inventory["baseline"]["cert_warn_days"]:
                found.append(
                    _finding(
                        host,
                        "certificate_expiry",
                        "high" if days <= 7 else "medium",
                        f"certificate expires in {days} days",
                        "renew_certificate",
                    )
                )
    return found


INVENTORY_TOOLS = (check_versions, check_open_ports, check_disks, check_certificates)


def _finding(
    host: dict[str, Any], kind: str, severity: str, detail: str, action: str, target: str = ""
) -> dict[str, Any]:
    return {
        "host": host["name"],
        "kind": kind,
        "severity": severity,
        "detail": detail,
        "suggested_action": action,
        "target": target,
    }
