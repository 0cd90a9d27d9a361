"""In the browser: the home page, the catalog, a CPU page, and uploading a dump through the form."""

import re

import pytest
from playwright.sync_api import expect

from cpus import services
from cpus.models import CpuModel, HostReport
from tests.samples import DUMPS

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_home_catalog_and_the_shanghai_cpu_page(page, demo_pool, screenshot):
    # A fuller catalog than the 2008 pool: every AIDA64 and libcpuid raw dump of the tests.
    for path in DUMPS.glob("aida64_*.txt") + DUMPS.glob("libcpuidraw_*.txt"):
        services.report_ingest(raw=path.read_bytes())
    cpus = CpuModel.objects.count()
    amd = CpuModel.objects.filter(vendor="AuthenticAMD").count()
    intel = CpuModel.objects.filter(vendor="GenuineIntel").count()
    assert 10 < cpus <= 50 and 0 < amd < cpus and 0 < intel < cpus

    page.goto("/")
    expect(page.locator("h1")).to_have_text("Can this VM live-migrate to that host?")
    screenshot(page, "home")

    page.locator(".areas").get_by_role("link", name="CPU catalog").click()
    expect(page).to_have_url(re.compile(r"/cpus/$"))
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(cpus)
    expect(rows.filter(has_text="AuthenticAMD")).to_have_count(amd)
    expect(rows.filter(has_text="GenuineIntel")).to_have_count(intel)
    # Other makers (the Zhaoxin sample reports CentaurHauls) are rows of their own.
    expect(rows.filter(has_text="CentaurHauls")).to_have_count(cpus - amd - intel)
    screenshot(page, "catalog")

    # Filters: AMD parts that have SSE4a and lack SSSE3 are the K10 Opterons of the 2008 pool.
    page.select_option("select[name=vendor]", label="AMD")
    page.fill("input[name=has_feature]", "sse4a")
    page.fill("input[name=lacks_feature]", "ssse3")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"vendor=amd"))
    k10 = CpuModel.objects.filter(vendor="AuthenticAMD", family=16).count()
    assert k10 >= 2
    expect(rows).to_have_count(k10)
    expect(rows.filter(has_text=re.compile(r"\bK10\b"))).to_have_count(k10)
    expect(rows.filter(has_text="GenuineIntel")).to_have_count(0)

    shanghai = demo_pool["shanghai"].current_report.cpu_model
    page.get_by_role("link", name=str(shanghai), exact=True).click()
    expect(page).to_have_url(re.compile(rf"/cpus/{shanghai.pk}/$"))
    expect(page.locator("h1")).to_have_text(str(shanghai))
    identity = page.locator("dl.identity")
    expect(identity).to_contain_text("AuthenticAMD")
    expect(identity).to_contain_text("16 / 4 / 2")
    for feature in ("svm", "sse4a", "3dnowprefetch", "rdtscp"):
        expect(page.locator(".chip", has_text=re.compile(rf"^{feature}$"))).to_have_count(1)
    expect(page.locator(".chip", has_text=re.compile(r"^ssse3$"))).to_have_count(0)
    # The host behind it links back to its page.
    expect(page.get_by_role("link", name="shanghai", exact=True)).to_be_visible()
    screenshot(page, "cpu-shanghai")


def test_upload_a_dump_through_the_form_shows_its_features(signed_in, page, screenshot):
    page.goto("/reports/upload/")
    page.set_input_files("input[name=file]", DUMPS / "aida64_XeonE5462_Harpertown_2S_libcpuid.txt")
    page.fill("input[name=host_name]", "harpertown-rack-4")
    page.get_by_role("button", name="Decode and add").click()

    expect(page).to_have_url(re.compile(r"/reports/\d+/$"))
    report = HostReport.objects.select_related("host").get()
    assert page.url.endswith(f"/reports/{report.pk}/")
    assert report.host.name == "harpertown-rack-4"
    expect(page.locator("h1")).to_contain_text("Intel(R) Xeon(R) CPU E5462 @ 2.80GHz")
    identity = page.locator("dl.identity")
    expect(identity).to_contain_text("GenuineIntel")
    expect(identity).to_contain_text("6 / 23 / 6")
    expect(identity).to_contain_text("38 bits physical, 48 bits virtual")
    expect(identity.get_by_role("link", name="harpertown-rack-4")).to_be_visible()
    expect(page.locator("h2", has_text="Features")).to_have_text(
        f"Features ({report.feature_set.feature_count})"
    )
    chips = page.locator(".feature-groups .chip")
    expect(chips).to_have_count(report.feature_set.feature_count)
    for feature in ("vmx", "sse4_1", "ssse3", "lm", "nx"):
        expect(chips.filter(has_text=re.compile(rf"^{feature}$"))).to_have_count(1)
    expect(chips.filter(has_text=re.compile(r"^svm$"))).to_have_count(0)
    screenshot(page, "upload-result")

    # The QEMU vocabulary renames the chips: Linux sse4_1 and lahf_lm are sse4.1 and lahf-lm.
    page.locator(".tabs a", has_text="qemu").click()
    expect(page).to_have_url(re.compile(r"\?names=qemu$"))
    expect(chips).to_have_count(report.feature_set.feature_count)
    for linux, qemu in (("sse4_1", "sse4.1"), ("lahf_lm", "lahf-lm")):
        expect(chips.filter(has_text=re.compile(rf"^{re.escape(qemu)}$"))).to_have_count(1)
        expect(chips.filter(has_text=re.compile(rf"^{linux}$"))).to_have_count(0)


def test_a_dump_that_cannot_be_decoded_is_refused_in_the_page(signed_in, page):
    page.goto("/reports/upload/")
    page.fill("textarea[name=raw]", "this is not a CPUID dump\n")
    page.get_by_role("button", name="Decode and add").click()
    expect(page.get_by_role("alert")).to_contain_text("The report could not be decoded")
    expect(page.get_by_role("alert")).to_contain_text("Nothing was stored.")
    assert not HostReport.objects.exists()
