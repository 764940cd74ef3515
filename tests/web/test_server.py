"""The web app's JSON API and pages against a real uvicorn server (httpx, no mocks)."""

from __future__ import annotations

import json
import shutil
import threading
import time

import httpx
import pytest

from hamflex.errors import HamflexError
from hamflex.pipelines.api import run_slr, run_test90
from hamflex.web.jobs import create_analysis
from hamflex.web.people import add_person
from hamflex.web.server import ServerConfig
from tests.support.media import gradient_frames, write_video
from tests.support.web_server import running_server, wait_finished

CLIP = "synthetic/flat2d_supine9090.mp4"


@pytest.fixture
def config(tmp_path):
    return ServerConfig(db_path=tmp_path / "history.sqlite3", data_dir=tmp_path / "data", max_upload_bytes=2_000_000)


@pytest.fixture
def client(config):
    with running_server(config) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def _person(client, name="Ann Smith"):
    answer = client.post("/api/people", json={"name": name, "sex": "female", "note": "after ACL repair"})
    assert answer.status_code == 201
    return answer.json()


def _upload(client, path, person_id, name=None, protocol="test90"):
    with open(path, "rb") as handle:
        return client.post("/api/sessions", data={"protocol": protocol, "person_id": str(person_id)},
                           files={"file": (name or path.name, handle, "video/mp4")})


def _first_progress(client, session_id, timeout_s=120.0):
    """The first state of a running analysis that reports frames analysed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = client.get(f"/api/sessions/{session_id}").json()
        if state["frames_done"] or state["status"] in ("done", "failed"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"session {session_id} reported no progress in {timeout_s} s")


def test_people_are_added_listed_and_searched(client):
    ann = _person(client)
    _person(client, "Bob Jones")
    assert ann["id"] and ann["name"] == "Ann Smith" and ann["sex"] == "female"
    assert [p["name"] for p in client.get("/api/people").json()] == ["Ann Smith", "Bob Jones"]
    assert [p["name"] for p in client.get("/api/people", params={"q": "acl"}).json()] == ["Ann Smith", "Bob Jones"]
    assert [p["name"] for p in client.get("/api/people", params={"q": "bob"}).json()] == ["Bob Jones"]
    refused = client.post("/api/people", json={"name": "  ", "sex": "other"})
    assert refused.status_code == 422 and "name" in refused.json()["error"]


def test_an_uploaded_recording_gives_the_clis_result_and_can_be_corrected(client, config, shared_dir, model_path,
                                                                           tmp_path, monkeypatch):
    person = _person(client)
    answer = _upload(client, shared_dir / CLIP, person["id"])
    assert answer.status_code == 202  # answered at once: the analysis runs in a worker process
    running = _first_progress(client, answer.json()["id"])
    assert running["status"] == "running" and 0 < running["frames_done"] < running["frames_total"] == 90
    assert 0.05 < running["progress"] < 0.95
    expected = run_test90(shared_dir / CLIP, tmp_path / "cli", sex="female").to_dict()  # meanwhile, as the CLI
    state = wait_finished(client, answer.json()["id"])
    assert state["status"] == "done" and state["error"] is None and state["progress"] == 1.0
    cli_json = json.loads((tmp_path / "cli" / "test90.json").read_text())
    assert cli_json == json.loads(json.dumps(expected))
    assert {k: v for k, v in state["result"].items() if k != "source"} == \
        {k: v for k, v in cli_json.items() if k != "source"}

    person_page = client.get(f"/people/{person['id']}").text
    assert "Trend per side" in person_page and f"/sessions/{state['id']}/report" in person_page
    page = client.get(f"/sessions/{state['id']}").text
    assert "trial_1_end.jpg" in page and "Trial 1" in page
    picture = client.get(f"/sessions/{state['id']}/files/trial_1_end.jpg")
    assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"

    points = client.get(f"/api/sessions/{state['id']}/trials/1/landmarks").json()["points_px"]
    original = state["result"]["trials"][0]["knee_extension_deficit_deg"]
    unchanged = client.post(f"/api/sessions/{state['id']}/trials/1/landmarks", json=points).json()["trial"]
    assert abs(unchanged["knee_extension_deficit_deg"] - original) < 1.0  # same frame, same geometry
    hip, knee = points["hip"], points["knee"]
    straight = [2 * knee[0] - hip[0], 2 * knee[1] - hip[1]]  # ankle on the thigh line: knee straight
    corrected = client.post(f"/api/sessions/{state['id']}/trials/1/landmarks", json={"ankle": straight}).json()
    trial = corrected["trial"]
    assert trial["knee_extension_deficit_deg"] == pytest.approx(0.0, abs=0.1)
    assert trial["correction"]["by"] == "hand" and trial["correction"]["original"]["knee_extension_deficit_deg"] == original
    assert corrected["result"]["sides"][trial["side"]]["mean_deficit_deg"] == pytest.approx(0.0, abs=0.1)
    assert "corrected by hand" in client.get(f"/sessions/{state['id']}/report").text
    pdf = client.get(f"/sessions/{state['id']}/report.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-" and "application/pdf" in pdf.headers["content-type"]
    monkeypatch.setenv("PATH", str(tmp_path / "no-browser-here"))  # a server without Chromium
    missing = client.get(f"/sessions/{state['id']}/report.pdf")
    assert missing.status_code == 503 and "Chromium, which is not installed" in missing.text


def test_an_uploaded_leg_raise_gives_the_clis_slr_result(client, shared_dir, model_path, tmp_path):
    person = _person(client)
    answer = _upload(client, shared_dir / "synthetic/flat2d_slr.mp4", person["id"], protocol="slr")
    assert answer.status_code == 202
    expected = json.loads(json.dumps(run_slr(shared_dir / "synthetic/flat2d_slr.mp4", tmp_path / "cli").to_dict()))
    state = wait_finished(client, answer.json()["id"])
    assert state["status"] == "done", state["error"]
    assert {k: v for k, v in state["result"].items() if k != "source"} == \
        {k: v for k, v in expected.items() if k != "source"}
    raised = expected["trials"][0]["hip_flexion_deg"]
    page = client.get(f"/sessions/{state['id']}").text
    assert f"leg raised to {raised}°" in page and "trial_1_end.jpg" in page
    assert "Re-score trial" not in page  # corrections by hand are for the 90-90 test only
    assert "Straight leg raise" in client.get(f"/people/{person['id']}").text


def test_a_truncated_recording_ends_failed_with_the_clis_one_line_message(config, shared_dir, model_path, tmp_path):
    """Queued before the server starts: the restarted server picks it up (sessions survive)."""
    data = (shared_dir / CLIP).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:20_000])
    person = add_person(config.db_path, "Ann")
    shutil.copy(cut, tmp_path / "upload.mp4")
    analysis = create_analysis(config.db_path, config.data_dir, person.id, "test90", None, tmp_path / "upload.mp4")
    with pytest.raises(HamflexError) as cli_error:
        run_test90(config.data_dir / analysis.folder / analysis.upload, tmp_path / "cli")
    with running_server(config) as url, httpx.Client(base_url=url) as client:
        state = wait_finished(client, analysis.id)
    assert state["status"] == "failed" and state["error"] == str(cli_error.value)
    assert "\n" not in state["error"] and "not a readable video" in state["error"]


@pytest.mark.parametrize(("name", "status", "message"), [
    ("notes.txt", 415, "not a video or photo"),
    ("../../evil.sh", 415, "not a video or photo"),
])
def test_uploads_of_other_types_are_refused(client, tmp_path, name, status, message):
    person = _person(client)
    path = tmp_path / "x.bin"
    path.write_bytes(b"hello")
    answer = _upload(client, path, person["id"], name=name)
    assert answer.status_code == status and message in answer.json()["error"]
    assert not list((tmp_path / "data").rglob("*.sh"))


def test_a_path_traversal_name_never_reaches_the_file_system(client, config, tmp_path):
    person = _person(client)
    path = tmp_path / "x.mp4"
    path.write_bytes(b"not really a video")
    answer = _upload(client, path, person["id"], name="../../x.mp4")
    assert answer.status_code == 202
    assert not (config.data_dir.parent.parent / "x.mp4").exists()
    stored = [p.relative_to(config.data_dir).as_posix() for p in config.data_dir.rglob("*.mp4")]
    assert stored == [f"sessions/{answer.json()['id']}/upload.mp4"]


def test_an_oversize_upload_is_refused_and_nothing_is_kept(client, config, tmp_path):
    person = _person(client)
    path = tmp_path / "big.mp4"
    path.write_bytes(b"\0" * (config.max_upload_bytes + 1))
    answer = _upload(client, path, person["id"])
    assert answer.status_code == 413 and "limit" in answer.json()["error"]
    assert not [p for p in config.data_dir.rglob("*") if p.is_file()]


def test_an_oversize_body_without_a_length_is_cut_off_while_streaming(client, config):
    person = _person(client)
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"protocol\"\r\n\r\ntest90\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"person_id\"\r\n\r\n{person['id']}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\n").encode()

    def body():
        yield head
        for _ in range(config.max_upload_bytes // 65536 + 2):
            yield b"\0" * 65536

    answer = client.post("/api/sessions", content=body(), headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 413
    assert not [p for p in config.data_dir.rglob("*") if p.is_file()]


def test_bad_fields_are_refused_with_a_json_error(client, tmp_path):
    path = tmp_path / "x.mp4"
    path.write_bytes(b"data")
    answer = _upload(client, path, 999)
    assert answer.status_code == 422 and "person_id" in answer.json()["error"]
    person = _person(client)
    answer = _upload(client, path, person["id"], protocol="dance")
    assert answer.status_code == 422 and "protocol" in answer.json()["error"]
    answer = _upload(client, path, person["id"], protocol="hold")
    assert answer.status_code == 422 and "unknown stretch" in answer.json()["error"]
    assert client.get("/api/sessions/12345").status_code == 404
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file()]  # refused uploads are not kept


def test_what_users_type_is_shown_escaped(client):
    person = client.post("/api/people", json={"name": "<script>alert(1)</script>", "note": "<b>x</b>"}).json()
    for page in (client.get("/").text, client.get(f"/people/{person['id']}").text):
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_state_changes_from_another_site_are_refused(client):
    answer = client.post("/api/people", json={"name": "Eve"}, headers={"Origin": "http://evil.example"})
    assert answer.status_code == 403 and "another site" in answer.json()["error"]
    same = client.post("/api/people", json={"name": "Ann"}, headers={"Origin": str(client.base_url).rstrip("/")})
    assert same.status_code == 201


def test_files_outside_the_data_folder_are_never_served(client, config):
    for url in ("/sessions/1/files/..%2F..%2Fhistory.sqlite3", "/static/..%2F..%2Fweb%2Fserver.py",
                "/static/../server.py", "/sessions/1/files/history.sqlite3"):
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert b"sqlite" not in answer.content[:16] and b"import" not in answer.content
    assert client.get("/static/app.js").status_code == 200


def test_with_a_token_every_request_needs_it(tmp_path):
    config = ServerConfig(db_path=tmp_path / "h.sqlite3", data_dir=tmp_path / "data", token="s3cret")
    with running_server(config) as url:
        with httpx.Client(base_url=url) as anonymous:
            for path in ("/", "/api/people", "/static/app.js"):
                answer = anonymous.get(path)
                assert answer.status_code == 401 and "token" in answer.json()["error"]
            assert anonymous.get("/api/people", headers={"X-Hamflex-Token": "wrong"}).status_code == 401
        with httpx.Client(base_url=url) as browser:
            assert browser.get("/", params={"token": "s3cret"}).status_code == 200
            assert browser.get("/api/people").status_code == 200  # the cookie set from ?token=
        with httpx.Client(base_url=url, headers={"X-Hamflex-Token": "s3cret"}) as script:
            assert script.post("/api/people", json={"name": "Ann"}).status_code == 201


def test_live_sessions_refuse_files_missing_cameras_and_bad_fields(client):
    person = _person(client)
    for camera, message in (("/etc/passwd", "give a device index"), ("../x.mp4", "give a device index"),
                            ("97", "camera 97 could not be opened")):
        answer = client.post("/api/sessions/live", json={"person_id": person["id"], "protocol": "test90", "camera": camera})
        assert answer.status_code == 422 and message in answer.json()["error"], answer.text
    answer = client.post("/api/sessions/live", json={"person_id": person["id"], "protocol": "test90",
                                                     "camera": "browser", "max_s": -1})
    assert answer.status_code == 422 and "max_s" in answer.json()["error"]
    assert client.post("/api/sessions/live", json={"person_id": 999, "protocol": "test90"}).status_code == 422
    assert client.post("/api/sessions/3/stop").status_code == 409
    assert client.get(f"/people/{person['id']}").text.count("/sessions/") == 0  # no session was made


def test_a_live_socket_needs_the_token_and_the_same_origin(tmp_path, model_path):
    from websockets.exceptions import InvalidStatus, WebSocketException
    from websockets.sync.client import connect

    config = ServerConfig(db_path=tmp_path / "h.sqlite3", data_dir=tmp_path / "data", token="s3cret")
    headers = {"X-Hamflex-Token": "s3cret"}
    with running_server(config) as url, httpx.Client(base_url=url, headers=headers) as client:
        person = _person(client)
        started = client.post("/api/sessions/live", json={"person_id": person["id"], "protocol": "test90",
                                                          "camera": "browser"}).json()
        socket_url = url.replace("http://", "ws://") + started["socket"]
        for extra in ({}, {"Origin": "http://evil.example", **headers}):
            with pytest.raises((InvalidStatus, WebSocketException)), connect(socket_url, additional_headers=extra) as ws:
                ws.recv(timeout=10)
        with connect(socket_url, additional_headers=headers) as ws:
            ws.send('{"type": "stop"}')  # stopped before any picture: the session fails, saying why
            messages = [json.loads(ws.recv(timeout=60)) for _ in range(2)]
        assert [m["type"] for m in messages] == ["ready", "ended"] and messages[1]["status"] == "failed"
        assert "sent no picture" in client.get(f"/api/sessions/{started['id']}").json()["error"]


def test_the_servers_camera_sends_its_overlays_and_ends_like_the_cli(config, tmp_path, model_path):
    """A stream URL as the server's camera (a plain HTTP server playing a made clip with nobody in
    it): overlays come over the socket, and the session ends as ``--camera URL`` would."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from websockets.sync.client import connect

    (tmp_path / "stream").mkdir()
    write_video(tmp_path / "stream" / "clip.avi", gradient_frames(30, 320, 180))
    files = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=tmp_path / "stream"))
    threading.Thread(target=files.serve_forever, daemon=True).start()
    camera = f"http://127.0.0.1:{files.server_address[1]}/clip.avi"
    try:
        with running_server(config) as url, httpx.Client(base_url=url, timeout=30) as client:
            person = _person(client)
            started = client.post("/api/sessions/live", json={"person_id": person["id"], "protocol": "test90",
                                                              "camera": camera}).json()
            with connect(url.replace("http://", "ws://") + started["socket"]) as ws:
                received = [ws.recv(timeout=60) for _ in range(3)]  # ready, then a frame and its overlay
                while not (isinstance(message := ws.recv(timeout=60), str) and json.loads(message)["type"] == "ended"):
                    pass
            state = client.get(f"/api/sessions/{started['id']}").json()
    finally:
        files.shutdown()
    assert json.loads(received[1])["type"] == "frame" and received[2][:2] == b"\xff\xd8"  # a JPEG overlay
    assert state["status"] == "failed" and state["live"] and "nobody" in state["error"] and camera in state["error"]
    live = json.loads((config.data_dir / "sessions" / str(started["id"]) / "live_session.json").read_text())
    assert live["frames_processed"] >= 1 and json.loads(message)["frames_analysed"] == live["frames_processed"]
