"""/healthz: one query by default; broker and workers with ?full=1."""

import json

import pytest

from kbsite.tasks import ping


@pytest.mark.django_db
def test_healthz_is_ok_after_exactly_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert captured.captured_queries[0]["sql"] == "SELECT 1"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_rejects_post(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_full_healthz_is_ok_with_a_real_worker(client, celery_worker):
    response = client.get("/healthz?full=1")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"]["database"] == {"status": "ok"}
    assert body["components"]["broker"] == {"status": "ok"}
    assert body["components"]["workers"]["status"] == "ok"
    assert celery_worker.hostname in body["components"]["workers"]["workers"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_full_healthz_is_503_naming_workers_when_none_answers(client, redis_broker):
    response = client.get("/healthz?full=1")

    body = response.json()
    assert response.status_code == 503, (
        "a Celery worker outside the tests answered on REDIS_URL; stop it or use another "
        f"Redis database: {body}"
    )
    assert body["status"] == "error"
    assert body["components"]["broker"] == {"status": "ok"}
    assert body["components"]["workers"] == {
        "status": "error",
        "detail": "no Celery worker answered a ping within 1.0s",
        "workers": [],
    }


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_task_round_trips_through_redis_and_a_real_worker(celery_worker):
    assert ping.delay().get(timeout=10) == "pong"


@pytest.mark.subprocess
def test_healthz_is_503_naming_the_database_when_it_is_down(get_pages, unused_port):
    pages = get_pages(
        "/healthz",
        env={"DEBUG": "1", "DATABASE_URL": f"postgres://postgres@127.0.0.1:{unused_port}/cpukb"},
    )

    body = json.loads(pages["/healthz"]["body"])
    assert pages["/healthz"]["status"] == 503
    assert body["status"] == "error"
    assert body["database"].startswith("OperationalError: ")


@pytest.mark.subprocess
def test_full_healthz_is_503_naming_the_broker_when_redis_is_down(get_pages, unused_port, tmp_path):
    pages = get_pages(
        "/healthz?full=1",
        env={
            "DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'health.sqlite3'}",
            "REDIS_URL": f"redis://127.0.0.1:{unused_port}/0",
        },
    )

    page = pages["/healthz?full=1"]
    body = json.loads(page["body"])
    assert page["status"] == 503
    assert body["components"]["database"] == {"status": "ok"}
    assert body["components"]["broker"]["status"] == "error"
    assert "ConnectionError" in body["components"]["broker"]["detail"]
    assert body["components"]["workers"]["status"] == "error"
