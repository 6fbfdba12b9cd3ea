"""The PDF of an estimate, rendered with fpdf2: the firm's name, the client, the lines grouped by
design stage with a subtotal per stage, the discount, taxes and the total. DejaVu Sans (Unicode:
Cyrillic, Polish, Norwegian...) is used when the system has it; otherwise fpdf2's core font, which
knows only Latin-1, and other characters print as "?"."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from services.common import money

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]


def _font(pdf: FPDF) -> tuple[str, bool]:
    for d in FONT_DIRS:
        regular, bold = d / "DejaVuSans.ttf", d / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            pdf.add_font("DejaVu", "", str(regular))
            pdf.add_font("DejaVu", "B", str(bold))
            return "DejaVu", True
    return "Helvetica", False


def render(est: dict, *, firm: str, client: str, deal_title: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    family, unicode_ok = _font(pdf)

    def text(s: object) -> str:
        s = "" if s is None else str(s)
        return s if unicode_ok else s.encode("latin-1", "replace").decode("latin-1")

    cur = est["currency"]

    def m(minor: int) -> str:
        return money.label(minor, cur)

    def row(cells: list[tuple[str, float, str]], bold: bool = False) -> None:
        pdf.set_font(family, "B" if bold else "", 9)
        for value, width, align in cells:
            pdf.cell(width, 6, text(value), align=align)
        pdf.ln(6)

    pdf.set_font(family, "B", 16)
    pdf.cell(0, 10, text(firm), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 11)
    pdf.cell(
        0,
        7,
        text(f"Cost estimate {est.get('number') or ''} — version {est['revision']}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(0, 7, text(f"Client: {client}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, text(f"Project: {deal_title}"), new_x="LMARGIN", new_y="NEXT")
    if est.get("valid_until"):
        pdf.cell(0, 7, text(f"Valid until: {est['valid_until']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    subtotals = {s["stage"]: s["amount_minor"] for s in est["totals"]["stages"]}
    for stage in subtotals:
        pdf.set_font(family, "B", 11)
        pdf.cell(0, 8, text(f"Stage: {stage}"), new_x="LMARGIN", new_y="NEXT")
        for line in (x for x in est["lines"] if x["stage"] == stage):
            if line["kind"] == "work":
                what = f"{line['discipline']}{' — ' + line['description'] if line.get('description') else ''}"
                qty = f"{line['hours']} h × {m(line['rate_minor'])}"
            else:
                what = line.get("description") or line.get("sku") or ""
                disc = f" −{line['discount_pct']}%" if line.get("discount_pct") not in (None, "0") else ""
                qty = f"{line['quantity']} × {m(line['unit_price_minor'])}{disc}"
            row([(what[:60], 90, "L"), (qty, 60, "R"), (m(line["amount_minor"]), 40, "R")])
        row([(f"Subtotal {stage}", 150, "R"), (m(subtotals[stage]), 40, "R")], bold=True)
        pdf.ln(2)
    t = est["totals"]
    row([("Subtotal", 150, "R"), (m(t["subtotal_minor"]), 40, "R")], bold=True)
    if t["discount_minor"]:
        row([(f"Discount {est.get('discount_pct')}%", 150, "R"), ("−" + m(t["discount_minor"]), 40, "R")])
    for tax in t["taxes"]:
        row([(f"{tax['name']} {tax['percent']}%", 150, "R"), (m(tax["amount_minor"]), 40, "R")])
    row([("Total", 150, "R"), (m(t["total_minor"]), 40, "R")], bold=True)
    return bytes(pdf.output())
