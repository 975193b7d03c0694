"""Connector registry by convention: ``sync.connectors.<name>`` exposes
``Connector``.  Adding a system means adding one package; nothing to register."""

from __future__ import annotations

import importlib
import re

from sync.connectors.base import BaseConnector


class ConnectorNotFound(LookupError):
    pass


def get_connector_class(name: str) -> type[BaseConnector]:
    if not name or not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
        raise ConnectorNotFound(f"'{name}' is not a connector name")
    try:
        module = importlib.import_module(f"sync.connectors.{name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("sync.connectors"):
            raise ConnectorNotFound(f"No connector package sync/connectors/{name}/") from None
        raise
    cls = getattr(module, "Connector", None)
    if cls is None or not issubclass(cls, BaseConnector):
        raise ConnectorNotFound(f"sync.connectors.{name} has no Connector class")
    return cls
