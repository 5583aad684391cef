"""Renderers: plain data in, text out (tables, JSON, Mermaid, DOT, Markdown, SARIF)."""
