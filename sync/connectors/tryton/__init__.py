"""Tryton 8.2 connector: customers → ``party.party``, legal entities →
``company.company``, projects → ``project.work``, contracts →
``sale.subscription``; inbound pull of the same (``inbound``)."""

from sync.connectors.tryton.connector import Connector

__all__ = ["Connector"]
