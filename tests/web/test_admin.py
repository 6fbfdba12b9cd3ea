"""Admin, import, duplicates and languages in Debian's Chromium against the real embedded stack
(the `web` fixture of conftest.py), each screen with a screenshot and an axe-core check (0 serious
or critical violations)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.web.test_browser import sign_in

expect.set_options(timeout=15_000)  # a shared 2-core machine: pages may take seconds

pytestmark = pytest.mark.timeout(600)

CREATE_COMPANY = "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { company { id } errors { code } } }"
COMPANY = "query($id: ID!) { company(id: $id) { id city customFields { key value } } }"
PRICE_LISTS = "{ priceLists(first: 100) { edges { node { name partnerTier validFrom rates { discipline } products { productId } } } } }"
CONTACT_BY_EMAIL = "query($e: String!) { contacts(first: 1, filter: {email: $e}) { edges { node { id } } } }"


def company(web, token: str, **fields) -> str:
    payload = web.gql(token, CREATE_COMPANY, {"i": fields})["createCompany"]
    assert not payload["errors"], payload
    return payload["company"]["id"]


def test_admin_defines_a_custom_field_and_it_shows_on_the_360_page(page: Page, web, shoot, axe_check):
    sign_in(page, web, "Ada Admin")
    page.get_by_role("link", name="Admin", exact=True).click()
    page.get_by_role("link", name="Custom fields").click()
    expect(page.get_by_role("heading", name="Custom fields", level=1)).to_be_visible()
    form = page.get_by_role("form", name=re.compile("New custom field"))
    form.get_by_label("Label").fill("Sector focus")
    form.get_by_label("Key").fill("sector_focus")
    form.get_by_label("Kind").select_option("SELECT")
    form.get_by_label("Options, one per line").fill("hospitality: Hospitality\nindustrial: Industrial")
    form.get_by_role("button", name="Create field").click()
    expect(page.get_by_role("status").filter(has_text="Field “Sector focus” created.")).to_be_visible()
    row = page.locator('tr[data-field="sector_focus"]')
    expect(row).to_contain_text("Industrial")
    # an option added, another retired
    row.get_by_label("New option for “Sector focus”").fill("retail: Retail")
    row.get_by_role("button", name="Add option").click()
    expect(row).to_contain_text("Retail")
    row.get_by_role("button", name="Retire option “Hospitality”").click()
    expect(row.get_by_text("retired")).to_be_visible()
    shoot(page, "admin-custom-fields")
    axe_check(page, "admin-custom-fields")

    # the client 360° page shows the field and saves a value
    page.goto(f"{web.url}/companies/{web.ids['harbour']}")
    expect(page.get_by_role("heading", name="Harbour Logistics GmbH", level=1)).to_be_visible()
    fields = page.get_by_role("region", name="Custom fields")
    expect(fields.locator('[data-custom-field="sector_focus"]')).to_contain_text("Sector focus")
    fields.get_by_role("button", name="Edit custom fields").click()
    fields.get_by_label("Sector focus").select_option(label="Industrial")
    expect(fields.get_by_label("Sector focus").locator("option", has_text="Hospitality")).to_have_count(0)  # retired
    fields.get_by_role("button", name="Save custom fields").click()
    expect(fields.get_by_role("status")).to_have_text("Custom fields saved.")
    expect(fields.locator('[data-custom-field="sector_focus"]')).to_contain_text("Industrial")
    shoot(page, "company-360-custom-fields")
    axe_check(page, "company-360-custom-fields")
    admin = web.mint("admin", "admin.demo")
    values = web.gql(admin, COMPANY, {"id": web.ids["harbour"]})["company"]["customFields"]
    assert {"key": "sector_focus", "value": "industrial"} in values


def test_admin_hands_a_book_over_and_follows_the_transfer(page: Page, web, shoot, axe_check):
    admin = web.mint("admin", "admin.demo")
    for name in ("Leaving Ltd One", "Leaving Ltd Two"):
        company(web, admin, name=name, kind="CLIENT", city="Oslo", owner="sales.leaving")
    sign_in(page, web, "Ada Admin")
    page.goto(web.url + "/admin/books")
    expect(page.get_by_role("heading", name="Books and hand-over", level=1)).to_be_visible()
    page.get_by_label("User", exact=True).fill("sales.leaving")
    page.get_by_role("button", name="Show book").click()
    handover = page.get_by_role("region", name="Hand-over of sales.leaving")
    expect(handover.get_by_role("status")).to_contain_text("still owns records")
    expect(handover.locator('[data-count="companies"]')).to_have_text("2")
    expect(page.get_by_role("link", name="Leaving Ltd One")).to_be_visible()
    shoot(page, "admin-book")
    axe_check(page, "admin-book")

    transfer = page.get_by_role("form", name="Transfer the book of sales.leaving")
    transfer.get_by_label("To user").fill("sales.anna")
    transfer.get_by_role("button", name="Start transfer").click()
    state = transfer.get_by_test_id("transfer-state")
    expect(state).to_contain_text("Finished")
    expect(state).to_contain_text("2 of 2 companies")
    expect(transfer.get_by_role("progressbar")).to_be_visible()
    # the book is re-read when the job finishes: nothing left to hand over
    expect(handover.get_by_role("status")).to_have_text("Nothing left to hand over.")
    expect(handover.locator('[data-count="companies"]')).to_have_text("0")
    shoot(page, "admin-book-transferred")
    axe_check(page, "admin-book-transferred")


def test_admin_creates_a_price_list(page: Page, web, shoot, axe_check):
    sign_in(page, web, "Ada Admin")
    page.goto(web.url + "/admin/prices")
    expect(page.get_by_role("heading", name="Price lists", level=1)).to_be_visible()
    page.get_by_role("button", name="New price list").click()
    editor = page.get_by_role("form", name="New price list")
    editor.get_by_label("Name").fill("Gold partners 2027")
    editor.get_by_label("Valid from").fill("2027-01-01")
    editor.get_by_label("Valid to").fill("2027-12-31")
    editor.get_by_label("Partner tier").fill("gold")
    editor.get_by_role("button", name="Add rate").click()
    editor.get_by_label("Discipline").fill("architecture")
    editor.get_by_label("Rate", exact=True).fill("130")
    editor.get_by_role("button", name="Add product").click()
    editor.get_by_role("combobox", name=re.compile("^Product")).select_option(web.ids["product_BIM-COORD"])
    editor.get_by_label("Price", exact=True).fill("110")
    shoot(page, "admin-price-list-editor")
    axe_check(page, "admin-price-list-editor")
    editor.get_by_role("button", name="Save price list").click()
    expect(page.get_by_role("status").filter(has_text="Price list “Gold partners 2027” saved.")).to_be_visible()
    row = page.locator('tr[data-price-list="Gold partners 2027"]')
    expect(row).to_contain_text("1 rates, 1 products")
    expect(row).to_contain_text("gold")
    shoot(page, "admin-price-lists")
    axe_check(page, "admin-price-lists")
    admin = web.mint("admin", "admin.demo")
    lists = [e["node"] for e in web.gql(admin, PRICE_LISTS)["priceLists"]["edges"]]
    saved = next(pl for pl in lists if pl["name"] == "Gold partners 2027")
    assert saved["partnerTier"] == "gold" and saved["validFrom"] == "2027-01-01"
    assert saved["rates"] == [{"discipline": "architecture"}]
    assert saved["products"] == [{"productId": web.ids["product_BIM-COORD"]}]


def test_admin_pipelines_screen(page: Page, web, shoot, axe_check):
    sign_in(page, web, "Ada Admin")
    page.goto(web.url + "/admin/pipelines")
    expect(page.get_by_role("heading", name="Pipelines", level=1)).to_be_visible()
    expect(page.get_by_label("Probability of Lead qualified")).to_be_visible()
    shoot(page, "admin-pipelines")
    axe_check(page, "admin-pipelines")


def test_a_dry_run_import_shows_its_counts_and_writes_nothing(page: Page, web, shoot, axe_check):
    sign_in(page, web, "Anna (sales)")
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import", level=1)).to_be_visible()
    csv = (
        "First name,Last name,E-mail,Company\n"
        "Liv,Hansen,liv.hansen@fjordtech.example,Fjordtech AS\n"
        "Per,Olsen,not-an-e-mail,Fjordtech AS\n"
        "Jonas,Lie,jonas.lie@fjordtech.example,Fjordtech AS\n"
    )
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "fair.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    expect(page.get_by_role("status").filter(has_text="fair.csv: 3 rows, 4 columns.")).to_be_visible()
    # the columns are guessed from their names
    expect(page.get_by_label("Field for column E-mail")).to_have_value("email")
    expect(page.get_by_label("Field for column Company")).to_have_value("company_name")
    page.get_by_role("button", name="Dry run").click()
    job = page.get_by_role("region", name=re.compile("Dry run"))
    expect(job.get_by_test_id("import-state")).to_have_text("Finished")
    expect(job.locator('[data-count="total"]')).to_have_text("3")
    expect(job.locator('[data-count="created"]')).to_have_text("2")
    expect(job.locator('[data-count="failed"]')).to_have_text("1")
    expect(job.get_by_role("cell", name="3", exact=True)).to_be_visible()  # the bad row's line
    # the full report comes through /imports/ on the web origin, with the token, as a blob
    job.get_by_role("button", name="Prepare the full error report").click()
    expect(job.get_by_role("link", name="Download the error report (CSV)")).to_have_attribute(
        "href", re.compile("^blob:")
    )
    shoot(page, "import-dry-run")
    axe_check(page, "import-dry-run")
    admin = web.mint("admin", "admin.demo")
    found = web.gql(admin, CONTACT_BY_EMAIL, {"e": "liv.hansen@fjordtech.example"})["contacts"]["edges"]
    assert found == []  # a dry run writes nothing


def test_two_duplicate_companies_are_merged_side_by_side(page: Page, web, shoot, axe_check):
    admin = web.mint("admin", "admin.demo")
    a = company(
        web, admin, name="Brightwater Studio", kind="PROSPECT", city="Oslo", website="https://brightwater.example"
    )
    b = company(
        web,
        admin,
        name="Brightwater Studio AS",
        kind="PROSPECT",
        city="Bergen",
        website="https://www.brightwater.example",
    )
    sign_in(page, web, "Ada Admin")
    page.get_by_role("link", name="Duplicates").click()
    expect(page.get_by_role("heading", name="Duplicates", level=1)).to_be_visible()
    row = page.locator('tr[data-duplicate^="Brightwater Studio"]').first
    expect(row).to_be_visible()
    shoot(page, "duplicates")
    axe_check(page, "duplicates")
    row.get_by_role("button", name=re.compile("^Compare")).click()
    compare = page.get_by_role("form", name="Side by side")
    expect(compare.get_by_role("radio", name="Keep Brightwater Studio", exact=True)).to_be_visible()
    compare.get_by_role("radio", name="Keep Brightwater Studio", exact=True).check()
    compare.get_by_role("radio", name="Bergen").check()  # the other record's city
    shoot(page, "duplicates-merge")
    axe_check(page, "duplicates-merge")
    compare.get_by_role("button", name="Merge").click()
    expect(page.get_by_role("status").filter(has_text="Merged into")).to_contain_text("Brightwater Studio")
    survivor = web.gql(admin, COMPANY, {"id": a})["company"]
    assert survivor["id"] == a and survivor["city"] == "Bergen"
    assert web.gql(admin, COMPANY, {"id": b})["company"]["id"] == a  # the merged id resolves to the survivor


def test_the_language_switch_shows_russian(page: Page, web, shoot, axe_check):
    sign_in(page, web, "Anna (sales)")
    page.get_by_label("Language").select_option("ru")
    expect(page.get_by_role("heading", name="Поиск", level=1)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("link", name="Доска сделок")).to_be_visible()
    shoot(page, "search-ru")
    axe_check(page, "search-ru")
    page.get_by_label("Язык").select_option("fr")
    expect(page.get_by_role("heading", name="Recherche", level=1)).to_be_visible()
    page.get_by_label("Langue").select_option("en")
    expect(page.get_by_role("heading", name="Search", level=1)).to_be_visible()
