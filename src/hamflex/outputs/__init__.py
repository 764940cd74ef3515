"""Outputs: angle tables (CSV), JSON summaries, overlay video, reports and history."""
