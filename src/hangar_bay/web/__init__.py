"""The server-rendered web UI (Jinja2 templates, one stylesheet, one small script)."""
