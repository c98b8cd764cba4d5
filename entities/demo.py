"""Demo market master data: regulators of each tier, entities with units, an agency, an integrator.

Idempotent: every row is found by a natural key before it is created.
"""

import datetime as dt
import random

from django_otp.plugins.otp_totp.models import TOTPDevice

from .credit_code import credit_code_make
from .models import City, KeyEntity, Organisation, Province, Unit, User

DEMO_PASSWORD = "cets-demo-2024"

DEMO_CITIES = [("420500", "42", "宜昌市", "Yichang"), ("440300", "44", "深圳市", "Shenzhen"),
               ("370200", "37", "青岛市", "Qingdao"), ("320200", "32", "无锡市", "Wuxi"),
               ("420700", "42", "鄂州市", "Ezhou"), ("371600", "37", "滨州市", "Binzhou")]

DEMO_ENTITIES = [
    # name, English, city, units: (MW, fuel, cfb, cooling, chp)
    ("华能武汉发电有限责任公司", "Huaneng Wuhan Power", "420100", [(660, "coal", False, "water", False),
                                                           (660, "coal", False, "water", True)]),
    ("湖北能源宜昌热电有限公司", "Hubei Energy Yichang CHP", "420500", [(350, "coal", False, "air", True)]),
    ("国能武汉燃机发电有限公司", "CHN Energy Wuhan Gas", "420100", [(460, "natural_gas", False, "water", True)]),
    ("广州珠江电厂有限公司", "Guangzhou Zhujiang Power", "440100", [(1000, "coal", False, "water", False)]),
    ("深圳妈湾电力有限公司", "Shenzhen Mawan Power", "440300", [(300, "coal", False, "water", False),
                                                          (390, "natural_gas", False, "water", False)]),
    ("华电青岛发电有限公司", "Huadian Qingdao Power", "370200", [(300, "coal", True, "water", True)]),
    ("济南热电有限公司", "Jinan CHP", "370100", [(135, "unconventional_coal", True, "water", True)]),
    ("江苏无锡燃气热电有限公司", "Wuxi Gas CHP", "320200", [(180, "natural_gas", False, "water", True)]),
    ("南京华润热电有限公司", "CR Nanjing CHP", "320100", [(600, "coal", False, "air", True)]),
    ("北京京能热电有限公司", "Beijing Jingneng CHP", "110100", [(400, "natural_gas", False, "water", True)]),
]

# Entities of the industrial sectors, as facilities only (their monthly data come from the sector MRV demos).
# Listed from data year 2025 in the demo (inclusion_year), so the demo's 2024 power cycle is unchanged.
# name, English, city, main sector, facilities: (code suffix, sector, name, attributes, power columns)
SECTOR_ENTITIES = [
    ("宝武鄂城钢铁有限公司", "Baowu Echeng Iron and Steel", "420700", "steel", [
        ("S1", "steel", "长流程钢铁企业", {"processes": ["coking", "sintering", "pelletising", "ironmaking", "bof",
                                                     "refining", "casting", "rolling", "lime"],
                                         "hydrogen_furnace": False}, {}),
        # a captive plant burning the works' own gases: a facility of sector power, so the entity may be on
        # the power list too
        ("P1", "power", "自备电厂#1", {}, {"rated_power_mw": 135, "main_fuel": "other", "cooling": "water"}),
    ]),
    ("华新水泥(阳新)有限公司", "Huaxin Cement Yangxin", "420500", "cement", [
        ("C1", "cement", "熟料线1", {"clinker_type": "portland", "design_capacity_tpd": 5000}, {}),
        ("C2", "cement", "熟料线2", {"clinker_type": "white_portland", "design_capacity_tpd": 1000}, {}),
    ]),
    ("滨州魏桥铝业有限公司", "Binzhou Weiqiao Aluminium", "371600", "aluminium", [
        ("A1", "aluminium", "电解铝工序", {"capacity_t": 600000}, {}),
    ]),
]


def _sector_entities(rng) -> list[KeyEntity]:
    entities = []
    first = len(DEMO_ENTITIES) + 1
    for index, (name, name_en, city_code, sector, facilities) in enumerate(SECTOR_ENTITIES, start=first):
        city = City.objects.get(code=city_code)
        code = credit_code_make(f"91{city_code}{index:09d}")
        entity, _ = KeyEntity.objects.get_or_create(credit_code=code, defaults={
            "name": name, "name_en": name_en, "sector_id": sector, "province": city.province, "city": city,
            "inclusion_year": 2025})
        for suffix, facility_sector, facility_name, attributes, power in facilities:
            Unit.objects.get_or_create(code=f"{city_code}-{index:03d}-{suffix}", defaults={
                "entity": entity, "sector_id": facility_sector, "name": facility_name, "attributes": attributes,
                **power, "commissioning_date": dt.date(2008 + rng.randrange(10), 1 + rng.randrange(12), 1)})
        entities.append(entity)
    return entities


def _user(username: str, role: str, **ties) -> User:
    user, created = User.objects.get_or_create(username=username, defaults={"role": role, **ties})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    if user.is_regulator:
        TOTPDevice.objects.get_or_create(user=user, name="demo authenticator", defaults={"confirmed": True})
    return user


def seed(out) -> dict:
    rng = random.Random(2024)
    for code, province, name, name_en in DEMO_CITIES:
        City.objects.get_or_create(code=code, defaults={"province_id": province, "name": name, "name_en": name_en})
    entities = []
    for index, (name, name_en, city_code, units) in enumerate(DEMO_ENTITIES, start=1):
        city = City.objects.get(code=city_code)
        code = credit_code_make(f"91{city_code}{index:09d}")
        entity, _ = KeyEntity.objects.get_or_create(credit_code=code, defaults={
            "name": name, "name_en": name_en, "province": city.province, "city": city, "inclusion_year": 2019})
        for n, (mw, fuel, cfb, cooling, chp) in enumerate(units, start=1):
            Unit.objects.get_or_create(code=f"{city_code}-{index:03d}-{n}", defaults={
                "entity": entity, "name": f"#{n}", "rated_power_mw": mw, "main_fuel": fuel, "is_cfb": cfb,
                "cooling": cooling, "is_chp": chp, "coal_type": "bituminous" if fuel == "coal" else "",
                "commissioning_date": dt.date(2005 + rng.randrange(12), 1 + rng.randrange(12), 1)})
        entities.append(entity)
    sector_entities = _sector_entities(rng)
    agency, _ = Organisation.objects.get_or_create(credit_code=credit_code_make("12110100000000001"), defaults={
        "name": "中环联合核查中心", "name_en": "China Environmental United Verification Centre",
        "kind": Organisation.Kind.VERIFICATION_AGENCY, "province": Province.objects.get(code="11")})
    users = {
        "mee": _user("mee", User.Role.NATIONAL_REGULATOR, is_staff=True),
        "hubei": _user("hubei", User.Role.PROVINCIAL_REGULATOR, is_staff=True, province_id="42"),
        "hubei2": _user("hubei2", User.Role.PROVINCIAL_REGULATOR, is_staff=True, province_id="42"),
        "guangdong": _user("guangdong", User.Role.PROVINCIAL_REGULATOR, is_staff=True, province_id="44"),
        "wuhan": _user("wuhan", User.Role.MUNICIPAL_REGULATOR, is_staff=True, province_id="42", city_id="420100"),
        "huaneng": _user("huaneng", User.Role.ENTITY, entity=entities[0]),
        "zhujiang": _user("zhujiang", User.Role.ENTITY, entity=entities[3]),
        "verifier": _user("verifier", User.Role.VERIFIER, organisation=agency),
        "integrator": _user("integrator", User.Role.INTEGRATOR, entity=entities[0]),
    }
    return {"entities": entities, "sector_entities": sector_entities, "users": users, "agency": agency}
