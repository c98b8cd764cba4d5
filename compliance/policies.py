"""The policy library of the public portal: the texts whose rules CETS implements, as plain data.

Gathered from ../shared/reference/DOMAIN.md (its opening list and sections 6-9). ``confidence`` follows the
house scale: A read in the official text, B secondary source, C widely reported but unconfirmed (a date or a
link not checked against the issuer's page says C). ``implements`` names the part of CETS that carries the
rule, so a reader can go from the text to the system. Titles are official titles (Chinese) with an English
rendering; the portal shows the one of the reader's language. Where the exact page was not confirmed the link
is the issuer's site. The 2025-2026 allocation plan is still a draft without a confirmed date: left out until issued.
"""

from datetime import date

MEE = ("生态环境部", "Ministry of Ecology and Environment")
POLICIES = [
    {"code": "decree-775", "title": "碳排放权交易管理暂行条例",
     "title_en": "Interim Regulations for the Management of Carbon Emission Trading (State Council Decree 775)",
     "issuer": ("国务院", "State Council"), "date": date(2024, 1, 25), "in_force": date(2024, 5, 1),
     "link": "https://www.gov.cn/zhengce/content/202402/content_6930137.htm", "confidence": "B",
     "implements": "compliance, allowances, mrv", "topic": "framework"},
    {"code": "mee-order-19", "title": "碳排放权交易管理办法（试行）",
     "title_en": "Measures for the Administration of Carbon Emissions Trading (Trial) (MEE Order 19)",
     "issuer": MEE, "date": date(2020, 12, 31), "in_force": date(2021, 2, 1),
     "link": "https://www.mee.gov.cn/xxgk2018/xxgk/xxgk02/202101/t20210105_816131.html", "confidence": "B",
     "implements": "entities, registry, compliance", "topic": "framework"},
    {"code": "registry-trading-settlement-rules",
     "title": "碳排放权登记管理规则（试行）、交易管理规则（试行）、结算管理规则（试行）",
     "title_en": "Rules for the registration, trading and settlement of carbon emission allowances (Trial)",
     "issuer": MEE, "date": date(2021, 5, 14), "in_force": date(2021, 5, 14),
     "link": "https://www.mee.gov.cn/xxgk2018/xxgk/xxgk01/202105/t20210519_833574.html", "confidence": "B",
     "implements": "registry, trading", "topic": "market"},
    {"code": "power-plan-2019-2020", "title": "2019-2020年全国碳排放权交易配额总量设定与分配实施方案（发电行业）",
     "title_en": "Allowance cap setting and allocation plan 2019-2020 (power sector)",
     "issuer": MEE, "date": date(2020, 12, 30), "in_force": date(2020, 12, 30),
     "link": "https://www.mee.gov.cn/xxgk2018/xxgk/xxgk03/202012/t20201230_815546.html", "confidence": "C",
     "implements": "allowances", "topic": "allocation"},
    {"code": "power-plan-2021-2022", "title": "2021、2022年度全国碳排放权交易配额总量设定与分配实施方案（发电行业）",
     "title_en": "Allowance cap setting and allocation plan 2021-2022 (power sector)",
     "issuer": MEE, "date": date(2023, 3, 13), "in_force": date(2023, 3, 13),
     "link": "https://www.mee.gov.cn/xxgk2018/xxgk/xxgk03/202303/t20230315_1019707.html", "confidence": "C",
     "implements": "allowances", "topic": "allocation"},
    {"code": "power-plan-2023-2024", "title": "2023、2024年度全国碳排放权交易发电行业配额总量和分配方案",
     "title_en": "Allowance cap and allocation plan 2023-2024 (power sector)",
     "issuer": MEE, "date": date(2024, 10, 10), "in_force": date(2024, 10, 10),
     "link": "https://www.mee.gov.cn/", "confidence": "C",
     "implements": "allowances", "topic": "allocation"},
    {"code": "power-accounting-guidelines", "title": "企业温室气体排放核算与报告指南 发电设施",
     "title_en": "Guidelines for the accounting and reporting of greenhouse gas emissions: power generation facilities",
     "issuer": MEE, "date": date(2022, 12, 19), "in_force": date(2023, 1, 1),
     "link": "https://www.mee.gov.cn/", "confidence": "C",
     "implements": "mrv", "topic": "mrv"},
    {"code": "ccer-measures", "title": "温室气体自愿减排交易管理办法（试行）",
     "title_en": "Measures for the Administration of Voluntary Greenhouse Gas Emission Reduction Trading (Trial)",
     "issuer": ("生态环境部、国家市场监督管理总局", "MEE and State Administration for Market Regulation"),
     "date": date(2023, 10, 20), "in_force": date(2023, 10, 20),
     "link": "https://www.mee.gov.cn/xxgk2018/xxgk/xxgk02/202310/t20231020_1043694.html", "confidence": "B",
     "implements": "voluntary", "topic": "ccer"},
    {"code": "sector-expansion-2025", "title": "全国碳排放权交易市场覆盖钢铁、水泥、铝冶炼行业工作方案",
     "title_en": "Work plan for covering the steel, cement and aluminium smelting sectors in the national market",
     "issuer": MEE, "date": date(2025, 3, 26), "in_force": date(2025, 3, 26),
     "link": "https://www.mee.gov.cn/", "confidence": "C",
     "implements": "entities, mrv, allowances", "topic": "allocation"},
    {"code": "eco-environment-code", "title": "生态环境法典",
     "title_en": "Ecological Environment Code", "issuer": ("全国人民代表大会", "National People's Congress"),
     "date": date(2026, 8, 15), "in_force": date(2026, 8, 15), "link": "https://www.npc.gov.cn/",
     "confidence": "C", "implements": "compliance (penalties)", "topic": "framework"},
]


def policies(language: str = "zh-hans", q: str = "") -> list[dict]:
    """The library newest first, each with its title and issuer in ``language``; ``q`` filters on either title."""
    english = language.startswith("en")
    rows = []
    for p in sorted(POLICIES, key=lambda p: p["date"], reverse=True):
        if q and q.lower() not in (p["title"] + " " + p["title_en"]).lower():
            continue
        rows.append({**p, "display_title": p["title_en"] if english else p["title"],
                     "display_issuer": p["issuer"][1] if english else p["issuer"][0]})
    return rows
