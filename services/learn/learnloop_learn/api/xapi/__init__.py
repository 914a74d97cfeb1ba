"""xAPI (Experience API) resources under ``/xapi/``: learn is a Learning Record Store."""
