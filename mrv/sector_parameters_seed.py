"""Defaults and plausibility ranges of the steel, cement and aluminium accounting (sectors-2025.md 1.2, 2.2, 3.2).

Plain data (no models import), seeded by migration as ``AccountingParameter`` and ``PlausibilityRange`` rows
and read by ``mrv.sectors``. ``code`` is the fuel, material, product, clinker type or gas the figure belongs
to (the rows' ``fuel`` column). [C] figures come from third-party code or are this project's estimates; they
say so in ``source`` and a regulator corrects them in the admin (a new row from a data year), no release.
GWPs are not here: they are the sector's gases (``entities.Sector.gases``).
"""

from decimal import Decimal as D

FIRST_YEAR = 2024
S4 = "CETS-AG-03.01-V01-2024 steel guideline (S4)"
S11 = "third-party code implementing the 2024 guidelines (S11), unverified"

# Table A.1 [A]: fuel -> (NCV GJ/t or GJ/10^4 Nm3, carbon per heat tC/GJ).
TABLE_A1 = {
    "anthracite": ("25.024", "0.02749"), "bituminous": ("23.736", "0.02618"), "lignite": ("15.250", "0.02797"),
    "washed_coking_coal": ("26.344", "0.02541"), "coke": ("28.435", "0.02942"),
    "petroleum_coke": ("32.500", "0.02750"), "natural_gas": ("389.310", "0.01532"),
    "bf_gas": ("33.000", "0.07080"), "bof_gas": ("84.000", "0.04960"), "coke_oven_gas": ("173.854", "0.01210"),
    "fuel_oil": ("41.816", "0.02110"), "diesel": ("42.652", "0.02020"), "lng": ("51.498", "0.01720"),
    "coal_tar": ("33.453", "0.02200"),
}
# Table A.2 [A]: tCO2/t.
MATERIAL_EF = {
    "limestone": "0.440", "dolomite": "0.476", "electrode": "3.663", "ni_fe": "0.037", "mo_fe": "0.018",
    "fe_si": "0.007", "si_mn": "0.092", "low_c_si_mn": "0.011", "high_c_fe_mn": "0.275", "micro_c_fe_mn": "0.004",
    "high_c_fe_cr": "0.348", "pig_iron": "0.172", "dri": "0.073", "scrap": "0.037",
}
PRODUCT_EF = {"crude_steel": "0.037", "pig_iron": "0.172", "tar": "2.699", "crude_benzene": "3.382"}
# Cement [C] S11: tCO2/t clinker by type; deductions tCO2/t of non-carbonate substitute.
CLINKER_EF = {"portland": "0.535", "white_portland": "0.550", "sulphoaluminate": "0.413", "aluminate": "0.292"}
SUBSTITUTE_DEDUCTION = {
    "desulph_ca_oh2": "0.600", "slaked_lime": "0.600",
    "carbide_slag": "0.480", "magnesium_slag": "0.480",
    "paper_white_mud": "0.375", "caf2_sludge": "0.375", "phosphorus_slag": "0.375",
    "v_ti_slag": "0.305", "incineration_fly_ash": "0.305", "ferroalloy_slag": "0.305",
    "desulph_gypsum": "0.245", "phosphogypsum": "0.245", "titanogypsum": "0.245", "fluorogypsum": "0.245",
    "borogypsum": "0.245", "model_gypsum": "0.245", "citric_acid_residue": "0.245",
    "steel_slag": "0.215", "nickel_slag": "0.215",
    "manganese_slag": "0.135", "zinc_slag": "0.135", "tin_slag": "0.135",
    "sewage_sludge": "0.055", "aluminium_slag": "0.055", "pyrite_cinder": "0.055", "copper_slag": "0.055",
    "lead_zinc_slag": "0.055", "fly_ash": "0.055", "red_mud": "0.055",
}
# Oxidation rate by physical state: steel guideline values (co-firing units) used for cement kilns [C].
OXIDATION = {"solid": "0.99", "liquid": "0.98", "gas": "0.99"}


def _rows():
    for fuel, (ncv, cc) in TABLE_A1.items():
        yield "steel_ncv", fuel, ncv, "A", f"{S4} Table A.1"
        yield "steel_carbon_per_heat", fuel, cc, "A", f"{S4} Table A.1"
        yield "cement_ncv", fuel, ncv, "C", f"{S4} Table A.1, used for cement: cement defaults not seen [C]"
        yield "cement_carbon_per_heat", fuel, cc, "C", f"{S4} Table A.1, used for cement: cement defaults not seen [C]"
    for material, ef in MATERIAL_EF.items():
        yield "material_ef", material, ef, "A", f"{S4} Table A.2"
    for product, ef in PRODUCT_EF.items():
        yield "product_ef", product, ef, "A", f"{S4} Table A.2 (deducted: carbon in crude steel and sold products)"
    for state, rate in OXIDATION.items():
        yield "cement_oxidation_rate", state, rate, "C", f"{S4} co-firing oxidation rate, used for cement [C]"
    for kind, ef in CLINKER_EF.items():
        yield "clinker_ef", kind, ef, "C", f"CETS-AG-02.01-V01-2024 clinker process factor, value from {S11} [C]"
    for material, factor in SUBSTITUTE_DEDUCTION.items():
        yield "substitute_deduction", material, factor, "C", f"CETS-AG-02.01-V01-2024 deduction, value from {S11} [C]"
    yield "anode_sulphur", "", "0.02", "C", f"anode sulphur 2%, {S11} [C]"
    yield "anode_ash", "", "0.004", "C", f"anode ash 0.4%, {S11} [C]"
    yield "pfc_default", "CF4", "0.034", "C", f"CF4 kg/t Al without anode-effect minutes, {S11} [C]"
    yield "pfc_aem_slope", "CF4", "0.143", "C", f"CF4 kg/t Al = 0.143 x anode-effect minutes per cell-day, {S11} [C]"
    yield "pfc_c2f6_ratio", "C2F6", "0.1", "C", f"EF_C2F6 = 0.1 x EF_CF4, {S11} [C]"


# key, code, from data year, to, value, confidence, source
PARAMETERS = [(key, code, FIRST_YEAR, None, D(value), conf, source) for key, code, value, conf, source in _rows()]

EST = "CETS estimate from the guideline defaults and sector averages, not an official range [C]"
# parameter, code, low, high, confidence, source (units in the parameter name or the sector's monthly inputs)
RANGES = [
    ("clinker_factor", "portland", D("0.50"), D("0.56"), "C", f"tCO2/t clinker around the 0.535 default; {EST}"),
    ("clinker_factor", "white_portland", D("0.52"), D("0.58"), "C", f"around the 0.550 default; {EST}"),
    ("clinker_factor", "sulphoaluminate", D("0.38"), D("0.45"), "C", f"around the 0.413 default; {EST}"),
    ("clinker_factor", "aluminate", D("0.26"), D("0.32"), "C", f"around the 0.292 default; {EST}"),
    ("clinker_intensity", "", D("0.70"), D("0.95"), "C", f"tCO2/t clinker, line emissions over clinker; {EST}"),
    ("cement_fuel_per_clinker", "", D("2.9"), D("4.2"), "C", f"GJ fuel heat per t clinker; {EST}"),
    ("net_anode_consumption", "", D("0.38"), D("0.45"), "C", f"t anode per t Al (0.411 recommended, S11); {EST}"),
    ("anode_sulphur", "", D("0.005"), D("0.035"), "C", f"fraction; {EST}"),
    ("anode_ash", "", D("0.001"), D("0.010"), "C", f"fraction; {EST}"),
    ("anode_effect_minutes", "", D("0"), D("1.0"), "C", f"min per cell-day; {EST}"),
    ("pfc_per_t_al", "", D("0"), D("0.40"), "C", f"tCO2e PFC per t Al (default 0.263); {EST}"),
    ("aluminium_intensity", "", D("1.35"), D("2.00"), "C", f"tCO2e per t Al liquid (example 1.6946); {EST}"),
    ("steel_carbon_balance_per_t", "", D("1.4"), D("2.4"), "C",
     f"tCO2 per t crude steel, enterprise carbon balance of long-process plants; {EST}"),
    ("steel_ironmaking_intensity", "", D("0.35"), D("0.80"), "C",
     f"tCO2 of sintering + ironmaking per t ironmaking output (example 0.5541); {EST}"),
]
