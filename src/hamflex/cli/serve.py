"""``hamflex serve``: the local web app (docs/web.md) on uvicorn; needs ``pip install "hamflex[web]"``."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from pathlib import Path
from typing import Annotated, Optional

import typer
import platformdirs

from hamflex.cli.app import app
from hamflex.cli.flags import DbOption
from hamflex.errors import MissingExtraError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine (``localhost``, 127.x, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def access_token(host: str, token: str | None) -> str | None:
    """The token every request must carry: the one given, a new one beyond loopback, else none."""
    if token is not None or is_loopback(host):
        return token
    return secrets.token_urlsafe(24)


def check_free(host: str, port: int) -> None:
    """Bind and release the address first, so "address already in use" is one error line
    (an OSError, exit 3) instead of uvicorn's log."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(error.errno, f"cannot listen on {host}:{port}: {error.strerror}") from None


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("hamflex")) / "web"


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; beyond localhost a token is required.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free one).")] = DEFAULT_PORT,
    db: DbOption = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Folder of uploads and session results (default: the user data folder's web/).")] = None,
    token: Annotated[Optional[str], typer.Option("--token", help="Access token every request must carry (generated when binding beyond localhost).")] = None,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", min=1, help="Largest upload accepted, in MB (default 2048 = 2 GB).")] = 2048,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Analyses run at once (at most one per core; default 1).")] = None,
) -> None:
    """Serve the web app: people, uploads analysed in the background, sessions, reports."""
    try:
        import uvicorn

        from hamflex.web.server import ServerConfig, create_app
    except ImportError as error:
        raise MissingExtraError(f"hamflex serve needs the web extra: pip install \"hamflex[web]\" ({error})") from None
    from hamflex.history.store import default_db_path

    check_free(host, port)
    token = access_token(host, token)
    config = ServerConfig(db_path=db or default_db_path(), data_dir=data or default_data_dir(), token=token,
                          max_upload_bytes=max_upload_mb * 1024 * 1024, workers=workers)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"hamflex: serving on http://{shown}:{port}/" + (f"?token={token}" if token else ""), err=True)
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")  # returns on Ctrl-C
    typer.echo("hamflex: stopped", err=True)
