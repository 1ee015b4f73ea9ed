"""Delivering a campaign: who gets an email and who is held out, and what the campaign did (docs/sending.md)."""
