"""Widgets of the faxtui screens."""
