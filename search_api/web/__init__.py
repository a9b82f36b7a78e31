"""The web pages: Jinja2 templates rendered on the server, a stylesheet and one small script.

Server-rendered on purpose: one process serves everything (nothing to build with npm on a fresh
machine), basic search works without JavaScript, and every string passes through Jinja2's
autoescaping before it reaches a browser.
"""
