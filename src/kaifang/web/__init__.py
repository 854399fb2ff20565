"""Server-rendered pages (Jinja2 + htmx). Routes parse input, call queries/actions, render."""
