"""Uploads of the labrats dialect: PDFs by content, the 100 MB limit, the pdf-sections pipeline."""

from __future__ import annotations

import io

import pytest

from tests.conftest import AUTH
from tests.support.pdf import make_pdf

PDF = make_pdf([["1. Introduction", "Shoal runs agents."], ["2. Design", "Functions are stateless."]])


@pytest.fixture
def jobs(function_client):
    return function_client("jobs")


def upload(jobs, data: bytes, name: str = "doc.pdf", field: str = "file"):
    return jobs.post("/api/uploads", headers=AUTH, content_type="multipart/form-data",
                     data={field: (io.BytesIO(data), name)})


def test_upload_list_extract_delete(jobs):
    response = upload(jobs, PDF, name="../../etc/report.pdf")
    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "report.pdf" and body["size"] == len(PDF) and body["contentType"] == "application/pdf"
    from shared.store.blobs import get_blob

    assert get_blob(f"uploads/default/{body['id']}/report.pdf") == PDF
    assert [u["id"] for u in jobs.get("/api/uploads", headers=AUTH).get_json()] == [body["id"]]

    extracted = jobs.post(f"/api/uploads/{body['id']}/extract", headers=AUTH, json={"prompt": "Summarise.",
                                                                                    "model": "opus"})
    assert extracted.status_code == 200
    job_id = extracted.get_json()["jobId"]
    assert set(extracted.get_json()) == {"jobId"} and job_id.startswith("ir-")
    detail = jobs.get(f"/api/jobs/{job_id}", headers=AUTH).get_json()
    assert detail["pipeline"]["type"] == "pdf-sections" and detail["name"] == "document-extraction"
    assert detail["config"]["model"] == "opus"
    prompt = detail["prompt"]
    assert prompt.startswith("Summarise.")
    assert "## Section 1: 1. Introduction" in prompt and "Shoal runs agents." in prompt
    assert "## Section 2: 2. Design" in prompt and "Functions are stateless." in prompt

    # The labrats body is prompt?, model?, effort?: another field is a 400 naming it, and starts no job.
    typo = jobs.post(f"/api/uploads/{body['id']}/extract", headers=AUTH, json={"promtp": "Summarise."})
    assert typo.status_code == 400 and typo.get_json() == {"error": "promtp: unknown field"}
    wrong = jobs.post(f"/api/uploads/{body['id']}/extract", headers=AUTH, json={"effort": 3})
    assert wrong.status_code == 400 and wrong.get_json() == {"error": "effort must be a string"}
    assert [j["id"] for j in jobs.get("/api/jobs", headers=AUTH).get_json()["jobs"]] == [job_id]

    assert jobs.delete(f"/api/uploads/{body['id']}", headers=AUTH).get_json() == {"deleted": body["id"]}
    assert get_blob(f"uploads/default/{body['id']}/report.pdf") is None
    missing = jobs.post(f"/api/uploads/{body['id']}/extract", headers=AUTH, json={})
    assert missing.status_code == 404 and missing.get_json() == {"error": "Upload not found"}


def test_type_is_checked_by_content_not_name(jobs):
    response = upload(jobs, b"MZ\x90\x00 not a pdf", name="innocent.pdf")
    assert response.status_code == 400 and response.get_json() == {"error": "Only PDF files are accepted"}
    assert upload(jobs, PDF, field="document").get_json() == {"error": "file is required"}
    plain = jobs.post("/api/uploads", headers=AUTH, json={"file": "x"})
    assert plain.get_json() == {"error": "expected multipart/form-data with a field named file"}
    assert jobs.get("/api/uploads", headers=AUTH).get_json() == []


def test_size_boundary(jobs, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_UPLOAD_MAX_BYTES", str(len(PDF) + 10))
    reset_settings()
    exact = PDF + b"\n" * 10
    assert upload(jobs, exact).status_code == 201
    over = upload(jobs, exact + b"\n")
    assert over.status_code == 413 and over.get_json() == {"error": "File too large (max 0 MB)"}
    assert len(jobs.get("/api/uploads", headers=AUTH).get_json()) == 1


def test_the_default_limit_is_100_mb_and_refused_before_reading(aws):
    import json

    from flask import Request
    from werkzeug.test import EnvironBuilder

    from shared.config import get_settings
    from shared.http.route_table import build_api

    assert get_settings().upload_max_bytes == 100 * 1024 * 1024
    # A body announced as larger than 100 MB (+ the multipart envelope) is refused from its header,
    # before a byte of it is read (the Api directly: the test client would fix Content-Length).
    environ = EnvironBuilder(path="/api/uploads", method="POST", data=b"",
                             headers={**AUTH, "Content-Type": "multipart/form-data; boundary=x"}).get_environ()
    environ["CONTENT_LENGTH"] = str(100 * 1024 * 1024 + 64 * 1024 + 1)
    response = build_api("jobs").handle(Request(environ))
    assert response.status_code == 413
    assert json.loads(response.get_data()) == {"error": "File too large (max 100 MB)"}


def test_exactly_100_mb_is_accepted(jobs):
    data = PDF + b"0" * (100 * 1024 * 1024 - len(PDF))  # (newline padding would time the multipart parser)
    response = upload(jobs, data)
    assert response.status_code == 201 and response.get_json()["size"] == 100 * 1024 * 1024
    over = upload(jobs, data + b"\n")
    assert over.status_code == 413
