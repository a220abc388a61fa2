"""The server API (``/api/v1/``) and webhooks: how an operator's application drives chinwag."""
