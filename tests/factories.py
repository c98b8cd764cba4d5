"""Factories shared by every app's tests: jurisdictions, entities, units, organisations, users."""

import datetime as dt
import itertools

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from entities.credit_code import credit_code_make
from entities.models import Accreditation, City, KeyEntity, Organisation, Province, Sector, Unit, User

_serial = itertools.count(1)


def credit_code(division: str = "420100", kind: str = "91") -> str:
    """A valid GB 32100 code: registration dept + org type, division, a unique body."""
    body = f"{next(_serial):09d}"
    return credit_code_make(f"{kind}{division}{body}")


def province(code: str) -> Province:
    return Province.objects.get(code=code)


def city(code: str) -> City:
    return City.objects.get(code=code)


class EntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KeyEntity

    name = factory.Sequence(lambda n: f"测试发电有限公司{n}")
    name_en = factory.Sequence(lambda n: f"Test Power Co. {n}")
    province = factory.LazyFunction(lambda: province("42"))
    city = factory.LazyAttribute(lambda o: City.objects.filter(province=o.province).first())
    credit_code = factory.LazyAttribute(lambda o: credit_code(o.city.code))
    inclusion_year = 2019


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    entity = factory.SubFactory(EntityFactory)
    code = factory.Sequence(lambda n: f"U{n:06d}")
    name = factory.Sequence(lambda n: f"#{n} unit")
    rated_power_mw = 600
    main_fuel = Unit.Fuel.COAL
    coal_type = Unit.CoalType.BITUMINOUS
    cooling = Unit.Cooling.WATER
    commissioning_date = dt.date(2010, 6, 30)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"机构{n}")
    credit_code = factory.LazyFunction(lambda: credit_code("110100", "12"))
    kind = Organisation.Kind.VERIFICATION_AGENCY
    province = factory.LazyFunction(lambda: province("11"))

    @factory.post_generation
    def accredited(org, create, extracted, **kwargs):
        """A verification agency is accredited for every sector, nationwide, unless ``accredited=False``."""
        if create and extracted is not False and org.kind == Organisation.Kind.VERIFICATION_AGENCY:
            Accreditation.objects.bulk_create([
                Accreditation(organisation=org, scope=f"ETS {code}", number=f"T-{org.pk}-{code}", sector_id=code,
                              valid_from=dt.date(2013, 1, 1), valid_to=dt.date(2100, 12, 31))
                for code in Sector.objects.values_list("code", flat=True)])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.ENTITY
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def finish(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def regulator(role: str, *, province_code: str | None = None, city_code: str | None = None, **kw) -> User:
    """A regulator with admin access and a confirmed TOTP device (regulators log in with 2FA)."""
    user = UserFactory(role=role, is_staff=True, province=province(province_code) if province_code else None,
                       city=city(city_code) if city_code else None, **kw)
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return user
