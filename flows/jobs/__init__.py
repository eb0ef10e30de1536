"""Periodic ticks: lead follow-ups, alerts, retention."""
