"""Signed webhook connector: see README.md in this folder for the receiving side."""

from sync.connectors.webhook.connector import Connector, sign, verify

__all__ = ["Connector", "sign", "verify"]
