"""Clients of the two fax services."""
