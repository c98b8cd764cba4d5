"""The four covered sectors as data (DOMAIN.md section 9; sectors-2025.md sections 0-3), seeded by migration.

Plain data (no models import) so the migration, the tests and the docs read the same rows. Each sector names
its allocation unit (the facility kind), its processes, gases with GWPs, the monthly key parameters it records,
the facility attributes it keeps, its output and the dotted path of its accounting module in mrv. Figures that
are not confirmed in an official text carry confidence C and say so in ``source``: a regulator edits them in the
admin, no release needed. Adding the next sector is one more dictionary here (or a row in the admin) plus one
accounting module: docs/adding-a-sector.md.
"""

CO2 = {"gas": "CO2", "gwp": 1, "confidence": "A", "source": "IPCC"}

FUEL_LIST = {"type": "fuel_list", "unit": "t or 10^4 Nm3"}
# A month in which the whole facility stood still (kiln, potline, works): the only way a month stores zero
# output (sector modules refuse zero otherwise); fuels burnt to keep it warm still count. Guidelines: months
# with no production are reported, not skipped (CETS-AG-02/03/04.01 monthly 信息化存证).
SHUTDOWN = {"code": "shutdown", "name": "全月停产", "name_en": "Shut down the whole month", "type": "boolean",
            "unit": "", "required": False}

SECTORS = [
    {
        "code": "power", "name": "发电行业", "name_en": "Power generation", "sort_order": 1,
        "facility_kind": "generating_unit", "facility_label": "机组", "facility_label_en": "Generating unit",
        "processes": [],
        "gases": [CO2],
        "output_name": "供电量", "output_name_en": "Electricity supplied", "output_unit": "MWh",
        "facility_attributes": [],
        "monthly_parameters": [
            {"code": "fuels", "name": "燃料消耗", "name_en": "Fuel consumption", **FUEL_LIST, "required": True},
            {"code": "electricity_generated_mwh", "name": "发电量", "name_en": "Electricity generated",
             "type": "quantity", "unit": "MWh", "required": True},
            {"code": "electricity_supplied_mwh", "name": "供电量", "name_en": "Electricity supplied",
             "type": "quantity", "unit": "MWh", "required": True},
            {"code": "heat_supplied_gj", "name": "供热量", "name_en": "Heat supplied", "type": "quantity",
             "unit": "GJ", "required": False},
            {"code": "operating_hours", "name": "运行小时数", "name_en": "Operating hours", "type": "quantity",
             "unit": "h", "required": True},
            {"code": "load_factor", "name": "负荷率", "name_en": "Load factor", "type": "fraction", "unit": "",
             "required": False},
        ],
        "accounting_module": "mrv.sectors.power", "allocation_method": "benchmark", "allocation_level": "facility",
        "first_year": 2019, "confidence": "A",
        "source": "Power accounting guideline; 2019-2026 power allocation plans (DOMAIN.md sections 2-5)",
    },
    {
        "code": "steel", "name": "钢铁行业", "name_en": "Iron and steel", "sort_order": 2,
        "facility_kind": "steel_enterprise", "facility_label": "钢铁企业(长流程)",
        "facility_label_en": "Steel enterprise (long process)",
        "processes": [
            {"code": "coking", "name": "炼焦", "name_en": "Coking"},
            {"code": "sintering", "name": "烧结", "name_en": "Sintering"},
            {"code": "pelletising", "name": "球团", "name_en": "Pelletising"},
            {"code": "ironmaking", "name": "炼铁", "name_en": "Ironmaking"},
            {"code": "bof", "name": "转炉炼钢", "name_en": "Basic oxygen furnace"},
            {"code": "eaf", "name": "电炉炼钢", "name_en": "Electric arc furnace"},
            {"code": "refining", "name": "精炼", "name_en": "Refining"},
            {"code": "casting", "name": "连铸", "name_en": "Casting"},
            {"code": "rolling", "name": "轧钢", "name_en": "Rolling"},
            {"code": "lime", "name": "石灰", "name_en": "Lime kilns"},
            {"code": "cofiring", "name": "掺烧发电", "name_en": "Co-firing generation units"},
        ],
        "gases": [CO2],
        "output_name": "粗钢产量", "output_name_en": "Crude steel", "output_unit": "t",
        "facility_attributes": [
            {"code": "processes", "name": "工序", "name_en": "Processes", "type": "processes", "required": True},
            {"code": "hydrogen_furnace", "name": "富氢碳循环氧气高炉", "type": "boolean", "required": False,
             "name_en": "Hydrogen-rich carbon-recycling oxygen blast furnace"},
        ],
        "monthly_parameters": [
            {"code": "fuels", "name": "化石燃料消耗", "name_en": "Fossil fuel consumption", **FUEL_LIST,
             "required": True},
            {"code": "materials", "name": "含碳原料消耗", "name_en": "Carbonates, electrodes, carbon-bearing "
             "materials", "type": "material_list", "unit": "t", "required": False},
            {"code": "products", "name": "固碳产品", "name_en": "Crude steel and sold carbon-bearing products",
             "type": "product_list", "unit": "t", "required": True},
            {"code": "processes", "name": "烧结和炼铁工序投入产出", "name_en": "Sintering and ironmaking inputs "
             "and outputs", "type": "process_balance", "unit": "t or 10^4 Nm3", "required": True},
            {"code": "sinter_t", "name": "烧结矿产量", "name_en": "Sinter output", "type": "quantity", "unit": "t",
             "required": False},
            {"code": "ironmaking_output_t", "name": "炼铁工序产品产量", "name_en": "Ironmaking output",
             "type": "quantity", "unit": "t", "required": True},
            {"code": "process_status", "name": "工序运行状态变化", "name_en": "Process status changes",
             "type": "text", "unit": "", "required": False},
            SHUTDOWN,
        ],
        "accounting_module": "mrv.sectors.steel", "allocation_method": "intensity", "allocation_level": "entity",
        "first_year": 2024, "confidence": "A",
        "source": "CETS-AG-03.01-V01-2024 steel guideline (S4); 2026 draft plan S1 (sectors-2025.md section 1)",
    },
    {
        "code": "cement", "name": "水泥行业", "name_en": "Cement (clinker)", "sort_order": 3,
        "facility_kind": "clinker_line", "facility_label": "熟料生产线", "facility_label_en": "Clinker line",
        "processes": [],
        "gases": [CO2],
        "output_name": "熟料产量", "output_name_en": "Clinker output", "output_unit": "t",
        "facility_attributes": [
            {"code": "clinker_type", "name": "熟料品种", "name_en": "Clinker type", "type": "choice",
             "choices": ["portland", "white_portland", "sulphoaluminate", "aluminate"], "required": True},
            {"code": "design_capacity_tpd", "name": "设计产能(吨/天)", "name_en": "Design capacity (t/d)",
             "type": "quantity", "required": False},
            {"code": "gypsum_acid", "name": "石膏制硫酸副产", "name_en": "Gypsum-to-sulphuric-acid co-product",
             "type": "boolean", "required": False},
        ],
        "monthly_parameters": [
            {"code": "fuels", "name": "化石燃料消耗", "name_en": "Fossil fuel consumption", **FUEL_LIST,
             "required": True},
            {"code": "clinker_t", "name": "熟料产量", "name_en": "Clinker output", "type": "quantity", "unit": "t",
             "required": True},
            {"code": "substitutes", "name": "非碳酸盐替代原料", "name_en": "Non-carbonate substitutes",
             "type": "material_list", "unit": "t", "required": False},
            SHUTDOWN,
        ],
        "accounting_module": "mrv.sectors.cement", "allocation_method": "intensity",
        "allocation_level": "facility", "first_year": 2024, "confidence": "C",
        "source": "CETS-AG-02.01-V01-2024 cement guideline (structure A, default values C: S11); S1 Table 2-3",
    },
    {
        "code": "aluminium", "name": "铝冶炼行业", "name_en": "Aluminium smelting", "sort_order": 4,
        "facility_kind": "electrolysis_process", "facility_label": "铝电解工序",
        "facility_label_en": "Aluminium electrolysis process",
        "processes": [],
        "gases": [CO2,
                  {"gas": "CF4", "gwp": 6630, "confidence": "C", "source": "IPCC AR5 (S11); S1: per the guideline"},
                  {"gas": "C2F6", "gwp": 11100, "confidence": "C", "source": "IPCC AR5 (S11); S1: per the guideline"}],
        "output_name": "铝液产量", "output_name_en": "Aluminium liquid output", "output_unit": "t",
        "facility_attributes": [
            {"code": "capacity_t", "name": "产能(吨/年)", "name_en": "Capacity (t/year)", "type": "quantity",
             "required": False},
        ],
        "monthly_parameters": [
            {"code": "aluminium_t", "name": "铝液产量", "name_en": "Aluminium liquid output", "type": "quantity",
             "unit": "t", "required": True},
            {"code": "net_anode_consumption", "name": "吨铝阳极净耗", "name_en": "Net anode consumption",
             "type": "quantity", "unit": "t/t Al", "required": True},
            {"code": "anode_sulphur", "name": "阳极含硫量", "name_en": "Anode sulphur", "type": "fraction",
             "unit": "", "required": False},
            {"code": "anode_ash", "name": "阳极灰分", "name_en": "Anode ash", "type": "fraction", "unit": "",
             "required": False},
            {"code": "anode_effect_minutes", "name": "阳极效应持续时间", "name_en": "Anode-effect minutes per "
             "cell-day", "type": "quantity", "unit": "min/cell-day", "required": False},
            SHUTDOWN,
        ],
        "accounting_module": "mrv.sectors.aluminium", "allocation_method": "intensity",
        "allocation_level": "facility", "first_year": 2024, "confidence": "C",
        "source": "CETS-AG-04.01-V01-2024 aluminium guideline (structure B, defaults and GWPs C: S11); S1 Table 2-4",
    },
]
