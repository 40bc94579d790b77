"""Supporters' rights over their data: see it, take it, change consent, erase it
(links.py, data.py, erase.py), and how long the site keeps it (retention.py)."""
