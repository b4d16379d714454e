"""Jinja2 templates shipped as package data: ``report.html.j2`` is the ``--html`` page
(:mod:`mmconvert.html_report`)."""
