"""The event contract: identifiers, customer keys, CloudEvent envelope and event data models.

Imports no broker, database or web code; everything here is pure and typed strictly.
"""
