"""The CCER methodologies issued in 2025 and the offset eligibility rule of 2025+ obligations, as plain data
seeded by migration (sectors-2025.md section 7; the first four, of October 2023, are migration 0002's).

MEE says 12 methodologies were issued in 2025 [A] S6 (16 by end-2025 with the first four [B]); the
sources name 11 of them, seeded here; the twelfth is not identified and is not invented. Where the
official code was not seen the row carries a provisional ``TBC-`` code, confidence C and says so in
``note``; the registry replaces it in the admin. Publication days not seen are the first or last day
of the month reported, also noted. Crediting ceilings of these methodologies were not obtained: each
is a reported-figure methodology whose capacity is the design document's annual estimate (tCO2e a
year), so a period never credits more than the registered estimate (``max_t_per_unit_year`` 1).
Crediting periods follow the CCER rules: at most 10 years, carbon sinks 20-40 years.
"""

import datetime as dt

D = dt.date
ESTIMATE = {"max_t_per_unit_year": "1",
            "confidence": "C: ceilings of the methodology not obtained; capped at the registered annual estimate"}
SECTORS = {
    "03": "03 能源需求 / energy demand",
    "10": "10 燃料逃逸排放 / fugitive emissions from fuels",
    "11": "11 卤烃和六氟化硫 / fugitive halocarbons and SF6",
    "13": "13 废弃物处置 / waste handling and disposal",
    "14": "14 林业和其他碳汇 / forestry and other sinks",
}
SINK = (20, 40)
OTHER = (1, 10)


def _row(code, title, title_en, sector_code, published_on, confidence, note, applicability, crediting=OTHER):
    return {"code": code, "version": "V01", "title": title, "title_en": title_en, "sector_code": sector_code,
            "sector": SECTORS[sector_code], "calculation": "reported", "capacity_unit": "t", "project_fields": [],
            "applicability": [], "applicability_text": applicability, "crediting_years_min": crediting[0],
            "crediting_years_max": crediting[1], "parameters": ESTIMATE,
            "formula": "ER = reported reductions of the period, at most the registered annual estimate x years",
            "confidence": confidence, "published_on": published_on, "note": note}


MNOTE = "Publication day not seen (month as reported); "
METHODOLOGIES_2025 = [
    _row("CCER-10-001-V01", "低浓度煤矿瓦斯和风排瓦斯利用",
         "Low-concentration coal-mine gas (< 8% CH4) and ventilation-air methane", "10", D(2025, 1, 3), "A",
         "Text read in a copy of the MEE notice (rockontrol) [A], sina [B]; ceilings not obtained.",
         "Flameless oxidation of coal-mine gas below 8% CH4 and ventilation-air methane only; monitoring data "
         "linked to cets.org.cn."),
    _row("TBC-2025-TUNNEL-LIGHTING", "公路隧道照明系统节能", "Highway-tunnel lighting energy saving", "03",
         D(2025, 1, 3), "C", "Official code not seen (MEE article 2025-08-28 [A], sina [B] name it); sector code "
         "03 assumed.", "Energy-saving retrofit of highway-tunnel lighting systems."),
    _row("TBC-2025-OFFSHORE-ASSOC-GAS", "海上油田伴生气回收利用", "Offshore oilfield associated-gas recovery",
         "10", D(2025, 11, 22), "C", MNOTE + "third batch with the NEA (MEE page 2025-11-22 [A]); official code "
         "not seen.", "Recovery and use of associated gas of offshore oilfields otherwise flared or vented."),
    _row("TBC-2025-GASFIELD-TEST-FLARE", "陆上气田试气放空天然气回收利用",
         "Onshore gas-field test-flaring gas recovery", "10", D(2025, 11, 22), "C",
         MNOTE + "third batch with the NEA (MEE page 2025-11-22 [A]); official code not seen.",
         "Recovery of natural gas otherwise flared or vented during onshore gas-well testing."),
    _row("TBC-2025-LOW-VOLUME-ASSOC-GAS", "陆上油田低气量伴生气回收利用",
         "Onshore low-volume associated-gas recovery", "10", D(2025, 11, 22), "C",
         MNOTE + "third batch with the NEA (MEE page 2025-11-22 [A]); official code not seen.",
         "Recovery of low-volume associated gas of onshore oilfields otherwise flared or vented."),
    _row("CCER-14-003-V01", "滨海盐沼修复", "Coastal salt-marsh restoration", "14", D(2025, 12, 1), "C",
         MNOTE + "S6 names salt marsh [A]; the code is from an unofficial copy of the MEE notice (ayx) [C]. "
         "Same-province mangrove, salt-marsh and seagrass projects may be bundled.",
         "Restoration of coastal salt marshes.", SINK),
    _row("CCER-14-004-V01", "海草床修复", "Seagrass-bed restoration", "14", D(2025, 12, 1), "C",
         MNOTE + "code from an unofficial copy of the MEE notice (ayx) [C]; may be bundled with mangrove and "
         "salt-marsh projects of the same province.", "Restoration of seagrass beds.", SINK),
    _row("TBC-2025-PIG-MANURE-BIOGAS", "规模化猪场粪污沼气利用", "Large-scale pig-farm manure biogas", "13",
         D(2025, 12, 17), "B", "S6 names it [A]; official code not seen; sector code 13 assumed.",
         "Biogas recovery and use from manure of large-scale pig farms."),
    _row("TBC-2025-AGRI-WASTE", "农业废弃物集中处理", "Centralised agricultural-waste treatment", "13",
         D(2025, 12, 17), "C", "Only agripost reports it (with MARA) [C]; official title and code not seen.",
         "Centralised treatment of agricultural waste."),
    _row("TBC-2025-CHECK-DAM-SINK", "淤地坝碳汇", "Check-dam carbon sink", "14", D(2025, 12, 1), "C",
         MNOTE + "only reportify (quoting the MWR) reports it [C]; official title and code not seen.",
         "Carbon sequestered in sediment retained by check dams (淤地坝).", SINK),
    _row("TBC-2025-SF6-RECOVERY", "电力设备六氟化硫回收净化", "SF6 recovery and purification from electrical "
         "equipment", "11", D(2025, 12, 31), "B", "S6 names it [A]; publication date and official code not seen "
         "(issued in 2025).", "Recovery and purification of SF6 from retired or maintained electrical equipment."),
]

OFFSET_RULES = [
    {"first_compliance_year": 2025, "registered_after": D(2024, 1, 22), "confidence": "A",
     "source": "2025-26 allocation plan, draft of July 2026 (S1): for 2025 and 2026 surrenders only CCERs registered "
               "after the market's launch on 2024-01-22"},
]


def seed(apps, schema_editor=None) -> None:
    Methodology = apps.get_model("voluntary", "Methodology")
    for row in METHODOLOGIES_2025:
        Methodology.objects.get_or_create(code=row["code"], defaults={k: v for k, v in row.items() if k != "code"})
    OffsetRule = apps.get_model("voluntary", "OffsetRule")
    for row in OFFSET_RULES:
        OffsetRule.objects.get_or_create(first_compliance_year=row["first_compliance_year"], defaults=row)
