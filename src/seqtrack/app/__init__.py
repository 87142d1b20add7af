"""``seqtrack app``: a local web page to open a video, draw the target's box with the mouse and watch it tracked.

* `seqtrack.app.options`: `AppConfig` (how the server runs) and `RunRequest` (what the page asks for a run).
* `seqtrack.app.media`: the videos the page may open (the demo clip, ``--videos DIR``, uploads), checked.
* `seqtrack.app.runner`: one tracking run in a worker thread (``seqtrack track``'s loop and files) as events.
* `seqtrack.app.server`: the FastAPI application (`create_app`); ``static/``: the page (HTML, JS, CSS).

Needs the ``app`` extra (FastAPI, uvicorn); nothing here is imported by the rest of the library.
"""
