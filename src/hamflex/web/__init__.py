"""The local web app (``hamflex serve``): people, uploads analysed in the background, sessions
and their trials, landmark correction — the same pipeline, history database and report as the
command line. Needs the ``web`` extra (FastAPI, uvicorn, python-multipart)."""
