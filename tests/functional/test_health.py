import json
import logging


def test_health(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_request_id_is_returned_and_logged(client, caplog):
    from kaifang.logs import JsonFormatter
    with caplog.at_level(logging.INFO, logger="kaifang.request"):
        response = client.get("/", headers={"x-request-id": "req-abcdef12"})
    assert response.headers["x-request-id"] == "req-abcdef12"
    record = next(r for r in caplog.records if r.name == "kaifang.request")
    line = json.loads(JsonFormatter().format(record))
    assert line["path"] == "/" and line["status"] == 200


def test_generated_request_id(client):
    assert len(client.get("/healthz").headers["x-request-id"]) == 32


def test_unknown_page_is_a_localised_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "页面不存在" in response.text
    api = client.get("/api/v1/nothing", headers={"accept-language": "en"})
    assert api.status_code == 404 and api.json()["error"]["message"] == "Page not found."
