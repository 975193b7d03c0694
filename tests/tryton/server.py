"""Test harness: a real Tryton server on 127.0.0.1 with a fresh database.

Installs nothing: Tryton comes from its own virtualenv (``$MDM_TRYTON_VENV``
or ``.venv-tryton``, made by ``.ci/tryton-setup.sh``).  The database is
built once into a cached SQLite template (about 30 s the first time) and
copied per server (about 0.05 s); see ``sync.connectors.tryton.localserver``.
Under CI=true a missing Tryton fails the test instead of skipping it."""

from __future__ import annotations

from pathlib import Path

from sync.connectors.tryton.localserver import LocalTryton, TrytonUnavailable, find_venv, template_path
from tests.conftest import require_service

__all__ = ["LocalTryton", "prepare", "start_server"]


def prepare() -> tuple[Path, Path]:
    """The Tryton venv and the (built once, cached) template database."""
    venv = find_venv()
    require_service("Tryton", venv is not None,
                    "no Tryton virtualenv (run .ci/tryton-setup.sh, or set MDM_TRYTON_VENV)")
    try:
        return venv, template_path(venv)
    except TrytonUnavailable as exc:
        require_service("Tryton", False, str(exc))
        raise


def start_server(venv: Path, template: Path) -> LocalTryton:
    try:
        return LocalTryton.start(venv, template=template)
    except TrytonUnavailable as exc:
        require_service("Tryton", False, str(exc))
        raise
