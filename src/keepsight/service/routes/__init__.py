"""The REST API, one router per area; each route names its policy action (see ``policy.py``)."""
