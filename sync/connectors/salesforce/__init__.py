"""Salesforce connector: upsert by external id over the REST API."""

from sync.connectors.salesforce.connector import Connector

__all__ = ["Connector"]
