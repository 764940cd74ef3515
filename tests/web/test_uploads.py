"""Receiving uploads: types, names and the size limit, on a streamed multipart body."""

from __future__ import annotations

import asyncio

import pytest

from hamflex.web.uploads import UploadRefused, allowed_suffix, receive_upload

BOUNDARY = "xYz"


def _body(filename: str, content: bytes, fields: dict[str, str]) -> bytes:
    parts = [f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
             for k, v in fields.items()]
    parts.append(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                 "Content-Type: video/mp4\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _receive(body: bytes, data_dir, max_bytes=1000, chunk=7):
    async def stream():
        for start in range(0, len(body), chunk):
            yield body[start:start + chunk]

    return asyncio.run(receive_upload(f"multipart/form-data; boundary={BOUNDARY}", None, stream(), data_dir, max_bytes))


@pytest.mark.parametrize(("name", "suffix"), [("clip.MP4", ".mp4"), ("../../x.mov", ".mov"),
                                               ("C:\\Users\\a\\photo.jpg", ".jpg"), ("a.tar.webm", ".webm")])
def test_the_suffix_is_all_that_is_taken_from_the_client_name(name, suffix):
    assert allowed_suffix(name) == suffix


@pytest.mark.parametrize("name", ["notes.txt", "x.mp4.sh", "noext", "", "../.."])
def test_other_types_are_refused(name):
    with pytest.raises(UploadRefused) as refused:
        allowed_suffix(name)
    assert refused.value.status_code == 415


def test_a_streamed_upload_is_saved_under_a_server_name_with_its_fields(tmp_path):
    fields, path = _receive(_body("../../x.mp4", b"\x00video\r\nbytes", {"protocol": "test90", "person_id": "3"}), tmp_path)
    assert fields == {"protocol": "test90", "person_id": "3"}
    assert path.parent == tmp_path / "incoming" and path.suffix == ".mp4" and "x" != path.stem
    assert path.read_bytes() == b"\x00video\r\nbytes"


def test_a_body_over_the_limit_is_refused_and_its_file_removed(tmp_path):
    with pytest.raises(UploadRefused) as refused:
        _receive(_body("a.mp4", b"\0" * 2000, {}), tmp_path, max_bytes=1000)
    assert refused.value.status_code == 413
    assert not list((tmp_path / "incoming").iterdir())


def test_an_upload_without_a_file_is_refused(tmp_path):
    body = f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"protocol\"\r\n\r\ntest90\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(UploadRefused, match="no file"):
        _receive(body, tmp_path)
