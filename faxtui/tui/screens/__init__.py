"""Screens and dialogs of the faxtui app."""
