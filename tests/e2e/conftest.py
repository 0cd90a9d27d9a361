"""Fixtures for the browser tests: Debian's chromium driven by Playwright (sync API) against
pytest-django's live server, seed hosts from real dumps, and a real Celery worker process.

Every test here uses `@pytest.mark.django_db(transaction=True, serialized_rollback=True)`:
the live server runs in another thread, so data must be committed, and the serialized rollback
restores the Feature rows a data migration loads once the flush at the end of a test has
emptied the tables.

`CPUKB_SCREENSHOTS=1` makes the tests save full-page screenshots to docs/screenshots/
(`make screenshots`); without it `screenshot()` does nothing.
"""

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from playwright.sync_api import expect, sync_playwright

from tests.samples import DUMPS

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CPUKB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
# Generous: the CI machine has two cores and a worker may still be starting.
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)

DEMO_2008 = {
    "harpertown": "aida64_XeonE5462_Harpertown_2S_libcpuid.txt",
    "barcelona": "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml",
    "shanghai": "aida64_Opteron2378_Shanghai_2S_libcpuid.txt",
}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One chromium per test module; each test gets its own context and page.

    Not per session on purpose: while Playwright's sync API is up, an asyncio loop runs on the
    main thread and DJANGO_ALLOW_ASYNC_UNSAFE is set (below). Stopping both at the end of each
    module keeps them away from the rest of the suite, which runs after tests/e2e in the same
    process. A launch costs well under a second."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `apt-get install -y --no-install-recommends chromium` "
            "(or point CPUKB_CHROMIUM at a Chromium binary)"
        )
    # Playwright's sync API keeps an asyncio loop on this thread, and Django refuses ORM calls
    # from a thread with a running loop. The tests call the ORM only between browser steps,
    # never concurrently with them, so the check is lifted while the browser is up.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A page whose JavaScript errors, and anything the CSP blocks, fail the test."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Whatever the Content-Security-Policy blocks is reported as a console error.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture
def signed_in(page, django_user_model):
    """The page signed in through the login form as an ordinary account ("member"): every form
    that stores something takes an account."""
    django_user_model.objects.create_user("member", password="pw-member-123")
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("member")
    page.get_by_label("Password").fill("pw-member-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/profile/")
    return page


@pytest.fixture
def screenshot() -> Callable:
    """`screenshot(page, name)` saves docs/screenshots/<name>.png when CPUKB_SCREENSHOTS=1."""
    enabled = os.environ.get("CPUKB_SCREENSHOTS", "") not in ("", "0")

    def save(page, name: str) -> None:
        if not enabled:
            return
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_load_state("networkidle")
        # Written next to the target, then renamed, so an interrupted run leaves no half file.
        partial = SCREENSHOTS / f".{name}.partial.png"
        page.screenshot(path=str(partial), full_page=True, animations="disabled")
        shutil.move(partial, SCREENSHOTS / f"{name}.png")

    return save


@pytest.fixture
def demo_pool() -> dict:
    """The 2008 demonstration pool, tagged demo-2008: {short name: Host}."""
    from cpus import services

    hosts = {}
    for name, file in DEMO_2008.items():
        report, _ = services.report_ingest(
            raw=(DUMPS / file).read_bytes(), host_name=name, tags=("demo-2008",)
        )
        hosts[name] = report.host
    return hosts


@pytest.fixture
def celery_worker(live_server, spawn_worker) -> Iterator[Callable[[], subprocess.Popen]]:
    """`celery_worker()` starts a real `celery worker` on the test database; it is killed (its
    whole process group) at the end. The queue is purged first, so tasks enqueued by this test
    before the worker starts wait for it, and nothing from an earlier run is picked up.

    Depends on live_server so it is torn down before the database is flushed."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("REDIS_URL is not set: the browser tests need the real Redis (`make test`)")
    queue = redis.Redis.from_url(settings.REDIS_URL)
    queue.delete("celery", "unacked", "unacked_index")
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        started.append(spawn_worker())
        return started[-1]

    yield start
    crashed = [p.log_path.read_text(errors="replace") for p in started if p.poll() is not None]
    queue.delete("celery", "unacked", "unacked_index")
    assert not crashed, f"the celery worker stopped by itself:\n{crashed[0]}"
