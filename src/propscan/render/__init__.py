"""Showing an analysis: one layout engine, and the text, JSON, PTC and HTML formats.

``layout`` cuts an article into rows and highlight segments for every view (the
terminal, the HTML report and the service's result page); ``text`` renders the
terminal view, JSON and PTC lines; ``html`` the self-contained report page.
"""
