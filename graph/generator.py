"""Deterministic synthetic communities: regions, estates, buildings, households, people and devices.

``generate(residents, seed)`` builds a whole community as ontology nodes and relationships, the
same for the same arguments, so tests, benchmarks and demos can share data without a database.
The community is anchored at :data:`REFERENCE_DATE` ("today" for ages, move-ins and installs) and
no wall-clock time is read. Planters (see :data:`Planter`) run afterwards to plant known anomalies
and return the ground truth that detectors are scored against.

The shape follows a Beijing residential street: a province → city → district → street → community
region chain, estates of 6-33 storey buildings, about 88 % of dwellings occupied, 30 % of occupied
dwellings rented to a floating population, residence and ownership history, cars and e-bikes,
shops, property management and key units, the devices of 7.1.1.9, grids with their staff (9.1.1)
and the defence force (7.1.1.8).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal, TypeVar, get_args

from faker import Faker

from graph import uid as uids
from graph.codes import make_id_number
from graph.ontology import (
    NODE_TYPES,
    RELATIONS,
    Building,
    Covers,
    DefenceMember,
    Device,
    DeviceCategory,
    Estate,
    Grid,
    House,
    Household,
    InGrid,
    InstalledIn,
    KeyPersonCategory,
    LegalRepresentativeOf,
    Link,
    LivesIn,
    LocatedIn,
    MemberOf,
    Node,
    NonMotorVehicle,
    Organisation,
    Owns,
    Person,
    Region,
    RegisteredAt,
    ResponsibleFor,
    ServesIn,
    Sex,
    Unit,
    Vehicle,
    WorksAt,
)

__all__ = ["REFERENCE_DATE", "Community", "Planter", "generate"]

REFERENCE_DATE = date(2026, 1, 1)
"""The community's "today": ages, move-ins and install dates are relative to it."""

OCCUPANCY = 0.88
RESIDENTS_PER_ESTATE = 1500

_CST = timezone(timedelta(hours=8))
_METRES_PER_DEGREE = 111_320.0
_BUILDING_SPACING_M = 60.0
_ESTATE_SPACING_M = 900.0

N = TypeVar("N", bound=Node)

_MemberRole = Literal["head", "spouse", "child", "parent", "grandchild", "sibling", "other"]
_Residency = Literal["permanent", "floating"]
_Structure = Literal["brick_concrete", "frame", "shear_wall", "frame_shear_wall", "steel", "other"]
_OrgCategory = Literal[
    "company", "school", "hospital", "government", "shop", "property_management", "social_organisation", "other"
]
_KeyCategory = Literal["school", "hospital", "fire_safety", "hazardous_chemicals", "other"]
_Force = Literal["security_guard", "volunteer", "owners_committee", "other"]
_LivesRole = Literal["owner", "family", "tenant", "other"]
_StaffRole = Literal["grid_worker", "police_officer", "property_manager"]
_VehicleKind = Literal["car", "suv", "mpv", "van", "truck", "bus", "motorcycle", "other"]

_SEXES: tuple[Sex, ...] = ("male", "female")
_UNIT_DEVICES: tuple[tuple[DeviceCategory, str], ...] = (("access_control", "DOOR"), ("face_camera", "FACE"))
_METERS: tuple[tuple[DeviceCategory, str], ...] = (("water_meter", "WM"), ("power_meter", "PM"), ("gas_meter", "GM"))


# --- reference tables ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Area:
    """Where an ID number was issued: its 6-digit area code, the place name and plate prefix."""

    code: str
    place: str
    plate: str


_BEIJING = (
    _Area("110105", "北京市朝阳区", "京"),
    _Area("110108", "北京市海淀区", "京"),
    _Area("110102", "北京市西城区", "京"),
    _Area("110101", "北京市东城区", "京"),
    _Area("110106", "北京市丰台区", "京"),
    _Area("110114", "北京市昌平区", "京"),
)
_ELSEWHERE = (
    _Area("130102", "河北省石家庄市长安区", "冀"),
    _Area("130602", "河北省保定市竞秀区", "冀"),
    _Area("410105", "河南省郑州市金水区", "豫"),
    _Area("370102", "山东省济南市历下区", "鲁"),
    _Area("340104", "安徽省合肥市蜀山区", "皖"),
    _Area("510104", "四川省成都市锦江区", "川"),
    _Area("430102", "湖南省长沙市芙蓉区", "湘"),
    _Area("420106", "湖北省武汉市武昌区", "鄂"),
    _Area("230103", "黑龙江省哈尔滨市南岗区", "黑"),
    _Area("610113", "陕西省西安市雁塔区", "陕"),
    _Area("140105", "山西省太原市小店区", "晋"),
    _Area("120101", "天津市和平区", "津"),
    _Area("210102", "辽宁省沈阳市和平区", "辽"),
    _Area("150102", "内蒙古自治区呼和浩特市新城区", "蒙"),
    _Area("320106", "江苏省南京市鼓楼区", "苏"),
)
_AREAS = {area.code: area for area in (*_BEIJING, *_ELSEWHERE)}
_DISTRICTS = (
    ("110105", "朝阳区"),
    ("110108", "海淀区"),
    ("110102", "西城区"),
    ("110106", "丰台区"),
    ("110114", "昌平区"),
)
_STREETS = (
    "和平里",
    "望京",
    "酒仙桥",
    "八里庄",
    "双井",
    "学院路",
    "北太平庄",
    "展览路",
    "卢沟桥",
    "回龙观",
    "小关",
    "安贞",
)
_COMMUNITY_WORDS = (
    "东湖",
    "花家地",
    "南湖",
    "利泽",
    "青年路",
    "新源里",
    "团结湖",
    "光华里",
    "幸福村",
    "和平街",
    "惠新",
    "安苑",
)
_ESTATE_PREFIXES = (
    "金台",
    "望春",
    "华清",
    "芳园",
    "松榆",
    "安慧",
    "翠微",
    "紫竹",
    "融泽",
    "丽水",
    "康乐",
    "百子湾",
    "青年汇",
    "锦绣",
    "馨园",
    "阳光",
    "富力",
    "远洋",
    "首开",
    "嘉铭",
    "枫林",
    "碧水",
    "星河",
    "朝阳",
)
_ESTATE_SUFFIXES = ("花园", "家园", "嘉园", "小区", "北里", "西里", "苑", "新城", "公寓")
_ROADS = (
    "安定路",
    "和平街",
    "青年路",
    "光华路",
    "安立路",
    "惠新东街",
    "北辰西路",
    "朝阳北路",
    "西坝河南路",
    "左家庄北街",
)
_ETHNICITIES = ("汉族", "回族", "满族", "蒙古族", "朝鲜族", "土家族", "壮族")
_ETHNICITY_WEIGHTS = (0.91, 0.03, 0.03, 0.012, 0.008, 0.005, 0.005)
_KEY_CATEGORIES = tuple(c for c in get_args(KeyPersonCategory) if c != "other")
_PHONE_PREFIXES = ("13", "15", "18", "17", "19", "16", "14")
_PHONE_WEIGHTS = (0.32, 0.24, 0.22, 0.08, 0.08, 0.03, 0.03)
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_BEIJING_PLATE_LETTERS = "ABCEFGHJKLMNPQY"
_CAR_BRANDS = (
    "大众",
    "丰田",
    "本田",
    "别克",
    "奥迪",
    "宝马",
    "奔驰",
    "日产",
    "吉利",
    "长安",
    "哈弗",
    "现代",
    "马自达",
    "雪佛兰",
)
_EV_BRANDS = ("比亚迪", "特斯拉", "蔚来", "理想", "小鹏", "埃安", "问界")
_BODY_COLOURS = ("白色", "黑色", "银色", "灰色", "蓝色", "红色", "棕色")
_BODY_COLOUR_WEIGHTS = (0.32, 0.25, 0.15, 0.14, 0.06, 0.05, 0.03)
_EBIKE_BRANDS = ("雅迪", "爱玛", "台铃", "小牛", "新日", "绿源", "九号")
_SHOP_KINDS = (
    ("便利店", "店员"),
    ("超市", "收银员"),
    ("理发店", "理发师"),
    ("药店", "药剂师"),
    ("早餐店", "厨师"),
    ("洗衣店", "店员"),
    ("水果店", "店员"),
    ("快递驿站", "分拣员"),
    ("五金店", "店员"),
    ("花店", "店员"),
)
_SHOP_WORDS = ("惠民", "邻里", "佳佳", "鑫鑫", "好邻居", "福满", "家家乐", "四季", "百姓", "康健", "便民", "兴旺")
_MAKERS: dict[str, tuple[str, ...]] = {
    "face_camera": ("海康威视", "大华", "宇视"),
    "plate_camera": ("海康威视", "大华", "捷顺"),
    "fire_lane_camera": ("海康威视", "大华"),
    "access_control": ("海康威视", "立林", "狄耐克", "安居宝"),
    "elevator": ("奥的斯", "三菱电机", "日立", "通力", "迅达"),
    "smoke_detector": ("海湾", "泛海三江", "松江", "利达"),
    "water_meter": ("宁水", "三川智慧", "新天科技"),
    "power_meter": ("威胜", "林洋", "炬华"),
    "gas_meter": ("金卡智能", "先锋", "威星"),
    "manhole_cover": ("泰华", "中科智井"),
    "street_light": ("欧普", "雷士", "华体"),
    "water_tank": ("亚太", "海德"),
    "environment": ("聚光科技", "先河环保"),
    "perimeter_sensor": ("富盛", "红外光电"),
    "hydrant": ("上海消防器材", "天广消防"),
}
_DEVICE_NAMES: dict[str, str] = {
    "face_camera": "人脸抓拍机",
    "plate_camera": "车牌识别",
    "access_control": "门禁",
    "fire_lane_camera": "消防通道摄像机",
    "elevator": "电梯",
    "smoke_detector": "烟感",
    "water_meter": "水表",
    "power_meter": "电表",
    "gas_meter": "燃气表",
    "manhole_cover": "智能井盖",
    "street_light": "路灯",
    "water_tank": "水箱",
    "environment": "环境监测",
    "perimeter_sensor": "周界",
    "hydrant": "消火栓",
}
_DEVICE_CODES: dict[str, str] = {
    "manhole_cover": "MH",
    "street_light": "SL",
    "water_tank": "WT",
    "environment": "ENV",
    "perimeter_sensor": "PS",
    "hydrant": "HY",
    "fire_lane_camera": "FLC",
}
_IOT_SINCE = 2016  # smart-community retrofits: cameras, access control and sensors are recent


# --- the public surface ----------------------------------------------------------------------


@dataclass
class Community:
    """A generated community: its nodes, relationships and the truth planted in it."""

    seed: int
    residents: int
    nodes: list[Node]
    links: list[Link]
    truth: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Return the number of nodes per label and of relationships per type, ontology order."""
        counts = Counter(n.label for n in self.nodes)
        counts.update(link.type for link in self.links)
        return {name: counts[name] for name in (*NODE_TYPES, *RELATIONS)}


Planter = Callable[[Community, random.Random], list[dict[str, Any]]]
"""Adds or changes nodes and links of a built community and returns ground-truth records."""


def generate(residents: int, seed: int, planters: Sequence[Planter] = ()) -> Community:
    """Return a synthetic community of exactly `residents` current residents, the same for a seed.

    Each planter then runs in order with the community and its own ``random.Random`` derived from
    `seed` and its position; its truth records are appended to ``community.truth`` with a
    ``"planter"`` key naming it unless the record already has one.
    """
    if residents < 0:
        raise ValueError(f"residents must be zero or more, got {residents}")
    ctx = _Context(random.Random(seed), _faker(seed), f"generator:seed={seed}")
    specs = _household_specs(ctx.rng, residents)
    estate_count = max(1, round(residents / RESIDENTS_PER_ESTATE))
    estates = _estates(ctx, estate_count, math.ceil(len(specs) / OCCUPANCY))
    homes = _occupy(ctx, estates, specs)
    for estate in estates:
        _residence_history(ctx, estate)
    _vehicles(ctx, homes)
    _grids(ctx, estates)
    _organisations(ctx, estates)
    for estate in estates:
        _grid_staff(ctx, estate)
        _estate_devices(ctx, estate)
        _building_devices(ctx, estate)
        _defence_force(ctx, estate)
    community = Community(seed, residents, ctx.nodes, ctx.links)
    for position, planter in enumerate(planters):
        name = getattr(planter, "__name__", type(planter).__name__)
        records = planter(community, random.Random(f"{seed}:planter:{position}:{name}"))
        community.truth.extend({"planter": name, **record} for record in records)
    _check_integrity(community)
    return community


# --- shared state ----------------------------------------------------------------------------


def _faker(seed: int) -> Faker:
    """Return a Chinese-locale Faker seeded with `seed`, independent of Faker's shared random."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    return fake


@dataclass
class _Context:
    """The random sources, the growing node and link lists, and the codes already handed out."""

    rng: random.Random
    fake: Faker
    source: str
    nodes: list[Node] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    serials: Counter[str] = field(default_factory=Counter)
    id_numbers: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    plates: set[str] = field(default_factory=set)
    district: tuple[str, str] = ("110105", "朝阳区")
    street: tuple[str, str] = ("110105001", "和平里街道")

    def add(self, node: N) -> N:
        """Return `node` after appending it to the community."""
        self.nodes.append(node)
        return node

    def join(self, model: type[Link], start: str, end: str) -> None:
        """Append a relationship of `model` (one without properties) from `start` to `end`."""
        self.links.append(model(source=self.source, start=start, end=end))

    def serial(self, kind: str) -> int:
        """Return the next number in the `kind` sequence, from 1."""
        self.serials[kind] += 1
        return self.serials[kind]

    def chance(self, p: float) -> bool:
        """Return True with probability `p`."""
        return self.rng.random() < p


@dataclass(frozen=True)
class _Member:
    """A member of a household to be: relation to the head, sex, age, kinship with the head."""

    role: _MemberRole
    sex: Sex
    age: int
    kin: bool


@dataclass(frozen=True)
class _HouseholdSpec:
    """A household to be settled: whether it rents, and its members."""

    tenant: bool
    members: tuple[_Member, ...]


@dataclass
class _Resident:
    """A person living in the community now, with what later parts need to pick people."""

    person: Person
    age: int
    role: _MemberRole
    tenant: bool


@dataclass
class _Home:
    """An occupied house: its household, residents and move-in date."""

    house: House
    household: Household
    residents: list[_Resident]
    moved_in: date
    tenant: bool


@dataclass
class _EstatePlan:
    """One estate and everything generated inside it, for the parts that come later."""

    estate: Estate
    region: Region
    origin: tuple[float, float]
    year: int
    buildings: list[Building] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    houses: list[House] = field(default_factory=list)
    homes: dict[str, _Home] = field(default_factory=dict)
    grids: list[Grid] = field(default_factory=list)
    grid_of: dict[str, Grid] = field(default_factory=dict)
    built: dict[str, int] = field(default_factory=dict)
    owned_since: dict[str, date] = field(default_factory=dict)
    property_company: Organisation | None = None

    @property
    def residents(self) -> list[_Resident]:
        """Return everyone living in the estate now."""
        return [r for home in self.homes.values() for r in home.residents]


# --- dates, places, people -------------------------------------------------------------------


def _at(day: date) -> datetime:
    """Return midnight of `day` in Beijing time."""
    return datetime(day.year, day.month, day.day, tzinfo=_CST)


def _day_between(rng: random.Random, first: date, last: date) -> date:
    """Return a uniformly random day from `first` to `last` inclusive (`first` if they cross)."""
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _birth_date(rng: random.Random, age: int) -> date:
    """Return a birth date of someone `age` full years old on the reference date."""
    return REFERENCE_DATE - timedelta(days=int(age * 365.25) + rng.randint(1, 363))


def _offset(origin: tuple[float, float], east_m: float, north_m: float) -> tuple[float, float]:
    """Return the (lon, lat) `east_m` metres east and `north_m` metres north of `origin`."""
    lon, lat = origin
    return (
        round(lon + east_m / (_METRES_PER_DEGREE * math.cos(math.radians(lat))), 6),
        round(lat + north_m / _METRES_PER_DEGREE, 6),
    )


def _phone(ctx: _Context) -> str:
    """Return an unused mainland mobile number."""
    while True:
        prefix = ctx.rng.choices(_PHONE_PREFIXES, _PHONE_WEIGHTS)[0]
        phone = f"{prefix}{ctx.rng.randrange(10**9):09d}"
        if phone not in ctx.phones:
            ctx.phones.add(phone)
            return phone


def _landline(ctx: _Context) -> str:
    """Return a Beijing landline number."""
    return f"010-{ctx.rng.choice('68')}{ctx.rng.randrange(10**7):07d}"


def _id_number(ctx: _Context, area: _Area, birth: date, sex: Sex) -> str:
    """Return an unused ID number for `area`, `birth` and `sex` (odd sequence for men)."""
    while True:
        sequence = ctx.rng.randrange(1 if sex == "male" else 2, 1000, 2)
        code = make_id_number(area.code, birth, sequence)
        if code not in ctx.id_numbers:
            ctx.id_numbers.add(code)
            return code


def _ethnicity(ctx: _Context) -> str:
    """Return an ethnicity, Han for about nine in ten people."""
    return ctx.rng.choices(_ETHNICITIES, _ETHNICITY_WEIGHTS)[0]


def _given_name(ctx: _Context, sex: Sex) -> str:
    """Return a given name usual for `sex`."""
    return ctx.fake.first_name_male() if sex == "male" else ctx.fake.first_name_female()


def _hometown_address(ctx: _Context, area: _Area) -> str:
    """Return a household-registration address in `area`."""
    return f"{area.place}{ctx.fake.street_name()}{ctx.rng.randint(1, 300)}号"


def _beijing_address(ctx: _Context) -> str:
    """Return an address elsewhere in Beijing, for people who do not live in the community."""
    return f"{ctx.rng.choice(_BEIJING).place}{ctx.fake.street_name()}{ctx.rng.randint(1, 300)}号"


def _person(
    ctx: _Context,
    *,
    sex: Sex,
    birth: date,
    area: _Area,
    residency: _Residency,
    surname: str | None = None,
    ethnicity: str | None = None,
    residence_address: str | None = None,
    registered_address: str | None = None,
    phone: bool = True,
    tags: Sequence[str] = (),
    key_person: bool = False,
) -> Person:
    """Return a new Person (added to the community) whose ID number agrees with sex and birth."""
    code = f"P{ctx.serial('person'):06d}"
    return ctx.add(
        Person(
            uid=uids.person(code),
            source=ctx.source,
            name=(surname or ctx.fake.last_name()) + _given_name(ctx, sex),
            sex=sex,
            birth_date=birth,
            id_number=_id_number(ctx, area, birth, sex),
            ethnicity=ethnicity or _ethnicity(ctx),
            native_place=area.place,
            phone=_phone(ctx) if phone else None,
            residence_address=residence_address,
            registered_address=registered_address or _hometown_address(ctx, area),
            face_photo=f"faces/{code}.jpg" if residence_address and ctx.chance(0.85) else None,
            residency=residency,
            key_person=key_person,
            key_category=ctx.rng.choice(_KEY_CATEGORIES) if key_person else None,
            tags=list(tags),
        )
    )


def _outsider(ctx: _Context, *, min_age: int = 25, max_age: int = 60) -> Person:
    """Return a new adult Beijing resident who does not live in the community."""
    sex = ctx.rng.choice(_SEXES)
    area = ctx.rng.choice(_BEIJING)
    return _person(
        ctx,
        sex=sex,
        birth=_birth_date(ctx.rng, ctx.rng.randint(min_age, max_age)),
        area=area,
        residency="permanent",
        residence_address=_beijing_address(ctx),
        registered_address=_hometown_address(ctx, area),
    )


# --- households ------------------------------------------------------------------------------

_SIZES = (1, 2, 3, 4, 5)
_SIZE_WEIGHTS = (0.25, 0.30, 0.22, 0.13, 0.10)  # mean ≈ 2.5, near the 2020 census for Beijing


def _household_specs(rng: random.Random, residents: int) -> list[_HouseholdSpec]:
    """Return household compositions whose sizes add up to exactly `residents`."""
    specs = []
    left = residents
    while left > 0:
        size = min(left, rng.choices(_SIZES, _SIZE_WEIGHTS)[0])
        tenant = rng.random() < 0.30
        specs.append(_HouseholdSpec(tenant, tuple(_members(rng, size, tenant))))
        left -= size
    return specs


def _members(rng: random.Random, size: int, tenant: bool) -> list[_Member]:
    """Return the members of a household of `size`, head first, children younger than parents."""
    if tenant and size >= 2 and rng.random() < 0.35:  # young workers sharing a flat
        return [
            _Member("head" if i == 0 else "other", rng.choice(_SEXES), rng.randint(21, 35), False) for i in range(size)
        ]
    if size == 1:
        weights = (0.8, 0.2, 0.0) if tenant else (0.45, 0.25, 0.30)
        band = rng.choices(((21, 40), (40, 65), (65, 90)), weights)[0]
        return [_Member("head", rng.choice(_SEXES), rng.randint(*band), True)]
    spouse, children, parents = _layout(rng, size)
    if parents:
        head_age = rng.randint(28, 58)
    elif children:
        head_age = rng.randint(26, 62)
    else:
        head_age = rng.randint(22, 48) if tenant else rng.randint(24, 85)
    head_sex: Sex = "male" if spouse and rng.random() < 0.8 else rng.choice(_SEXES)
    members = [_Member("head", head_sex, head_age, True)]
    if spouse:
        members.append(
            _Member("spouse", "female" if head_sex == "male" else "male", max(20, head_age + rng.randint(-5, 5)), False)
        )
    members += [
        _Member("child", rng.choice(_SEXES), rng.randint(max(0, head_age - 40), head_age - 22), True)
        for _ in range(children)
    ]
    parent_sexes: list[Sex] = ["male", "female"] if parents == 2 else [rng.choice(_SEXES)] * parents
    members += [_Member("parent", sex, min(98, head_age + rng.randint(22, 35)), sex == "male") for sex in parent_sexes]
    return members


def _layout(rng: random.Random, size: int) -> tuple[bool, int, int]:
    """Return (has spouse, children, parents of the head) for a family of `size`."""
    roll = rng.random()
    if size == 2:
        return (True, 0, 0) if roll < 0.70 else (False, 1, 0) if roll < 0.85 else (False, 0, 1)
    if size == 3:
        return (True, 1, 0) if roll < 0.80 else (True, 0, 1)
    if size == 4:
        return (True, 2, 0) if roll < 0.60 else (True, 1, 1)
    return (True, 1, 2) if roll < 0.50 else (True, 2, 1) if roll < 0.80 else (True, 3, 0)


# --- regions, estates, buildings -------------------------------------------------------------


def _regions(ctx: _Context, communities: int) -> list[Region]:
    """Return the community-level regions, after adding the chain above them (LOCATED_IN up)."""
    ctx.district = ctx.rng.choice(_DISTRICTS)
    street_word = ctx.rng.choice(_STREETS)
    ctx.street = (f"{ctx.district[0]}{ctx.rng.randint(1, 30):03d}", f"{street_word}街道")
    chain = [
        ("110000", "北京市", "province"),
        ("110100", "市辖区", "city"),
        (ctx.district[0], ctx.district[1], "district"),
        (ctx.street[0], ctx.street[1], "street"),
    ]
    parent: Region | None = None
    for code, name, level in chain:
        region = ctx.add(Region(uid=uids.region(code), source=ctx.source, name=name, level=level, code=code))
        if parent:
            ctx.join(LocatedIn, region.uid, parent.uid)
        parent = region
    assert parent is not None
    out = []
    for k, word in enumerate(ctx.rng.sample(_COMMUNITY_WORDS, min(communities, len(_COMMUNITY_WORDS))), 1):
        code = f"{ctx.street[0]}{k:03d}"
        region = ctx.add(
            Region(uid=uids.region(code), source=ctx.source, name=f"{word}社区", level="community", code=code)
        )
        ctx.join(LocatedIn, region.uid, parent.uid)
        out.append(region)
    return out


def _estates(ctx: _Context, count: int, houses: int) -> list[_EstatePlan]:
    """Return `count` estates holding at least `houses` dwellings between them, laid out in Beijing."""
    regions = _regions(ctx, math.ceil(count / 2))
    centre = (116.32 + ctx.rng.random() * 0.14, 39.87 + ctx.rng.random() * 0.10)
    columns = math.ceil(math.sqrt(count))
    names = (
        [f"{p}{ctx.rng.choice(_ESTATE_SUFFIXES)}" for p in ctx.rng.sample(_ESTATE_PREFIXES, count)]
        if count <= len(_ESTATE_PREFIXES)
        else [f"第{k}小区" for k in range(1, count + 1)]
    )
    plans = []
    for k in range(count):
        code = f"E{k + 1:02d}"
        origin = _offset(
            centre, (k % columns - (columns - 1) / 2) * _ESTATE_SPACING_M, -(k // columns) * _ESTATE_SPACING_M
        )
        road = f"{ctx.rng.choice(_ROADS)}{ctx.rng.randint(1, 99)}号"
        estate = ctx.add(
            Estate(
                uid=uids.estate(code),
                source=ctx.source,
                code=code,
                name=names[k],
                address=f"北京市{ctx.district[1]}{road}",
                lon=origin[0],
                lat=origin[1],
            )
        )
        region = regions[k // 2 % len(regions)]
        ctx.join(LocatedIn, estate.uid, region.uid)
        plan = _EstatePlan(estate, region, origin, ctx.rng.randint(1986, 2018))
        share = houses // count + (1 if k < houses % count else 0)
        _buildings(ctx, plan, _building_shapes(ctx.rng, plan.year, max(1, share)))
        plans.append(plan)
    return plans


@dataclass(frozen=True)
class _Shape:
    """The shape of a building to be: storeys, units, dwellings per storey, age, structure."""

    floors: int
    units: int
    per_floor: int
    year: int
    structure: _Structure
    house_area: tuple[int, int]


def _building_shapes(rng: random.Random, era: int, houses: int) -> list[_Shape]:
    """Return building shapes of an estate built around `era`, with room for `houses` dwellings."""
    shapes: list[_Shape] = []
    room = 0
    while room < houses:
        year = era + rng.randint(0, 3)
        roll = rng.random()
        if (year < 2000 and roll < 0.75) or roll < 0.25:
            shape = _Shape(6, rng.randint(2, 3), rng.randint(2, 3), year, "brick_concrete", (48, 90))
        elif roll < 0.85:
            shape = _Shape(
                rng.randint(9, 18),
                rng.randint(2, 3),
                rng.randint(2, 4),
                year,
                rng.choice(("frame_shear_wall", "shear_wall")),
                (65, 130),
            )
        else:
            shape = _Shape(rng.randint(24, 33), 2, rng.randint(3, 4), max(year, 2003), "shear_wall", (70, 140))
        missing = houses - room
        per_storey = shape.units * shape.per_floor
        if per_storey * shape.floors > missing and missing < per_storey * 6:
            # the last building is a low one sized to what is still needed
            shape = _Shape(
                6,
                shape.units,
                max(2, min(4, math.ceil(missing / (6 * shape.units)))),
                year,
                "brick_concrete" if year < 2000 else "frame_shear_wall",
                shape.house_area,
            )
        elif per_storey * shape.floors > missing:
            shape = _Shape(
                max(6, math.ceil(missing / per_storey)),
                shape.units,
                shape.per_floor,
                year,
                shape.structure,
                shape.house_area,
            )
        shapes.append(shape)
        room += shape.floors * shape.units * shape.per_floor
    return shapes


def _layout_grid(buildings: int) -> tuple[int, int]:
    """Return the columns and rows of an estate's buildings: near square, at most 8 abreast."""
    columns = max(1, min(8, math.ceil(math.sqrt(buildings))))
    return columns, math.ceil(buildings / columns)


def _buildings(ctx: _Context, plan: _EstatePlan, shapes: list[_Shape]) -> None:
    """Add the buildings, units and houses of an estate, in rows about 60 m apart."""
    columns, rows = _layout_grid(len(shapes))
    police = f"{ctx.street[1].removesuffix('街道')}派出所"
    for b, shape in enumerate(shapes, 1):
        code = f"{plan.estate.code}B{b:02d}"
        east = ((b - 1) % columns - (columns - 1) / 2) * _BUILDING_SPACING_M
        north = ((rows - 1) / 2 - (b - 1) // columns) * _BUILDING_SPACING_M
        lon, lat = _offset(plan.origin, east, north)
        mean_area = sum(shape.house_area) / 2
        building = ctx.add(
            Building(
                uid=uids.building(code),
                source=ctx.source,
                code=code,
                name=f"{b}号楼",
                year_built=shape.year,
                structure=shape.structure,
                service_life_years=50 if shape.floors <= 6 else 70,
                floors_above=shape.floors,
                floors_below=0 if shape.floors <= 6 else ctx.rng.randint(1, 2),
                height_m=round(shape.floors * 2.9 + 1.5, 1),
                floor_area_m2=round(shape.floors * shape.units * shape.per_floor * mean_area * 1.18, 1),
                address=f"{plan.estate.address}{plan.estate.name}{b}号楼",
                police_station=police,
                street=ctx.street[1],
                community=plan.region.name,
                lon=lon,
                lat=lat,
            )
        )
        ctx.join(LocatedIn, building.uid, plan.estate.uid)
        plan.buildings.append(building)
        plan.built[code] = shape.year
        for u in range(1, shape.units + 1):
            unit = ctx.add(
                Unit(uid=uids.unit(code, u), source=ctx.source, building_code=code, number=u, name=f"{u}单元")
            )
            ctx.join(LocatedIn, unit.uid, building.uid)
            plan.units.append(unit)
            for floor in range(1, shape.floors + 1):
                for k in range(1, shape.per_floor + 1):
                    _house(ctx, plan, building, unit, floor, f"{floor}{k:02d}", ctx.rng.randint(*shape.house_area))


def _house(ctx: _Context, plan: _EstatePlan, building: Building, unit: Unit, floor: int, room: str, area: int) -> None:
    """Add a dwelling of `unit`, at its building's coordinates and address."""
    house = ctx.add(
        House(
            uid=uids.house(building.code, unit.number, room),
            source=ctx.source,
            building_code=building.code,
            unit_number=unit.number,
            floor=floor,
            room=room,
            estate=plan.estate.name,
            area_m2=area,
            address=f"{building.address}{unit.number}单元{room}",
            police_station=building.police_station,
            street=building.street,
            community=building.community,
            lon=building.lon,
            lat=building.lat,
        )
    )
    ctx.join(LocatedIn, house.uid, unit.uid)
    plan.houses.append(house)


# --- who lives where -------------------------------------------------------------------------


def _occupy(ctx: _Context, estates: list[_EstatePlan], specs: list[_HouseholdSpec]) -> list[_Home]:
    """Settle every household in a random house; give every other house an absent owner."""
    houses = [(plan, house) for plan in estates for house in plan.houses]
    chosen = ctx.rng.sample(range(len(houses)), len(specs))
    spec_of = dict(zip(chosen, specs, strict=True))
    homes = []
    for index, (plan, house) in enumerate(houses):
        spec = spec_of.get(index)
        if spec is None:
            _absent_owner(ctx, plan, house, _day_between(ctx.rng, _available(plan, house), REFERENCE_DATE))
            continue
        home = _settle(ctx, plan, house, spec)
        plan.homes[house.uid] = home
        homes.append(home)
    return homes


def _available(plan: _EstatePlan, house: House) -> date:
    """Return the first day `house` could be lived in: some months after its building was finished."""
    return date(plan.built[house.building_code] + 1, 3 + house.floor % 9, 1)


def _settle(ctx: _Context, plan: _EstatePlan, house: House, spec: _HouseholdSpec) -> _Home:
    """Add a household living in `house`: members, residence, ownership or tenancy, registration."""
    first = _available(plan, house)
    latest = REFERENCE_DATE - timedelta(days=7)
    if spec.tenant:
        bought = _day_between(ctx.rng, first, min(latest - timedelta(days=400), first + timedelta(days=900)))
        moved_in = min(
            latest,
            _day_between(ctx.rng, max(bought + timedelta(days=60), REFERENCE_DATE - timedelta(days=5 * 365)), latest),
        )
        _absent_owner(ctx, plan, house, bought)
        house.rented = True
    else:
        moved_in = _day_between(ctx.rng, first, latest)
        bought = max(first, moved_in - timedelta(days=ctx.rng.randint(0, 120)))
        plan.owned_since[house.uid] = bought
    head_area = ctx.rng.choice(_ELSEWHERE) if spec.tenant or ctx.chance(0.2) else ctx.rng.choice(_BEIJING)
    household = _household(ctx, house, _hometown_address(ctx, head_area) if spec.tenant else house.address)
    surname, ethnicity = ctx.fake.last_name(), _ethnicity(ctx)
    co_owner = not spec.tenant and ctx.chance(0.4)
    residents = []
    for member in spec.members:
        area = _member_area(ctx, member, spec.tenant, head_area)
        person = _person(
            ctx,
            sex=member.sex,
            birth=_birth_date(ctx.rng, member.age),
            area=area,
            residency="floating" if spec.tenant else "permanent",
            surname=surname if member.kin else None,
            ethnicity=ethnicity if member.kin else None,
            residence_address=house.address,
            registered_address=household.registered_address if area == head_area or not spec.tenant else None,
            phone=member.age >= 12,
            tags=_tags(ctx, member, len(spec.members)),
            key_person=member.age >= 16 and ctx.chance(0.005),
        )
        owner = not spec.tenant and (member.role == "head" or (member.role == "spouse" and co_owner))
        role: _LivesRole = "tenant" if spec.tenant else "owner" if owner else "family"
        ctx.links.append(
            LivesIn(
                source=ctx.source,
                start=person.uid,
                end=house.uid,
                since=_at(max(moved_in, person.birth_date or moved_in)),
                registered=ctx.chance(0.85 if spec.tenant else 0.96),
                role=role,
            )
        )
        ctx.links.append(MemberOf(source=ctx.source, start=person.uid, end=household.uid, role=member.role))
        if owner:
            ctx.links.append(
                Owns(
                    source=ctx.source,
                    start=person.uid,
                    end=house.uid,
                    since=_at(bought),
                    share=0.5 if co_owner else None,
                )
            )
        residents.append(_Resident(person, member.age, member.role, spec.tenant))
    return _Home(house, household, residents, moved_in, spec.tenant)


def _household(ctx: _Context, house: House, registered_address: str | None) -> Household:
    """Add a household; one registered here (owners, not tenants) is REGISTERED_AT `house`."""
    code = f"{ctx.street[0]}{ctx.serial('household'):05d}"
    household = ctx.add(
        Household(uid=uids.household(code), source=ctx.source, code=code, registered_address=registered_address)
    )
    if registered_address == house.address:
        ctx.join(RegisteredAt, household.uid, house.uid)
    return household


def _member_area(ctx: _Context, member: _Member, tenant: bool, head_area: _Area) -> _Area:
    """Return where a member's ID number was issued: owners' children are registered here."""
    if member.kin:
        return _area_of_code(ctx.district[0]) if member.role == "child" and not tenant else head_area
    return ctx.rng.choice(_ELSEWHERE) if tenant or ctx.chance(0.3) else ctx.rng.choice(_BEIJING)


def _tags(ctx: _Context, member: _Member, size: int) -> list[str]:
    """Return the few care and service tags a resident carries, usually none."""
    tags = []
    if size == 1 and member.age >= 70:
        tags.append("elderly_living_alone")
    if ctx.chance(0.012):
        tags.append("disabled")
    if member.sex == "male" and member.age >= 40 and ctx.chance(0.02):
        tags.append("veteran")
    if member.age >= 18 and ctx.chance(0.015):
        tags.append("low_income")
    return tags


def _absent_owner(ctx: _Context, plan: _EstatePlan, house: House, bought: date) -> None:
    """Add an owner who does not live in `house` (it is rented out or empty), owning it since `bought`."""
    owner = _outsider(ctx, min_age=35, max_age=78)
    ctx.links.append(Owns(source=ctx.source, start=owner.uid, end=house.uid, since=_at(bought)))
    plan.owned_since[house.uid] = bought


def _residence_history(ctx: _Context, plan: _EstatePlan) -> None:
    """Give about 40 % of houses one or two former residents who have since moved out.

    Before an owner family moved in, previous owners lived there (and owned it until they sold);
    a rented or empty house had earlier tenants after its present owner bought it.
    """
    for house in plan.houses:
        if not ctx.chance(0.40):
            continue
        home = plan.homes.get(house.uid)
        previous_owners = home is not None and not home.tenant
        if previous_owners:
            start, end = _available(plan, house), plan.owned_since[house.uid]
        else:
            start = plan.owned_since[house.uid] + timedelta(days=30)
            end = home.moved_in if home else REFERENCE_DATE - timedelta(days=ctx.rng.randint(30, 700))
        count = ctx.rng.choice((1, 1, 2))
        span = (end - start).days // count
        if span < 120:
            continue
        for k in range(count):
            since = start + timedelta(days=k * span + ctx.rng.randint(0, span // 3))
            until = start + timedelta(days=(k + 1) * span - ctx.rng.randint(0, span // 4))
            _former_resident(ctx, house, since, until, previous_owners)


def _former_resident(ctx: _Context, house: House, since: date, until: date, previous_owner: bool) -> None:
    """Add a person who lived in `house` from `since` to `until` and lives elsewhere now."""
    age_then = ctx.rng.randint(22, 55)
    birth = since - timedelta(days=int(age_then * 365.25) + ctx.rng.randint(1, 363))
    area = ctx.rng.choice(_BEIJING) if previous_owner else ctx.rng.choice(_ELSEWHERE)
    person = _person(
        ctx,
        sex=ctx.rng.choice(_SEXES),
        birth=birth,
        area=area,
        residency="permanent" if previous_owner else "floating",
        residence_address=_beijing_address(ctx) if previous_owner else None,
    )
    ctx.links.append(
        LivesIn(
            source=ctx.source,
            start=person.uid,
            end=house.uid,
            since=_at(since),
            until=_at(until),
            registered=ctx.chance(0.9),
            role="owner" if previous_owner else "tenant",
        )
    )
    if previous_owner:
        ctx.links.append(Owns(source=ctx.source, start=person.uid, end=house.uid, since=_at(since), until=_at(until)))


# --- vehicles --------------------------------------------------------------------------------


def _vehicles(ctx: _Context, homes: list[_Home]) -> None:
    """Give about 35 % of households a car and 30 % an e-bike, owned by an adult member."""
    for home in homes:
        adults = [r for r in home.residents if r.age >= 20]
        if not adults:
            continue
        if ctx.chance(0.35):
            _car(ctx, home, adults[0] if ctx.chance(0.8) else ctx.rng.choice(adults))
        if ctx.chance(0.30):
            _ebike(ctx, home, ctx.rng.choice(adults))


def _car(ctx: _Context, home: _Home, owner: _Resident) -> None:
    """Add a car with a unique plate: Beijing, or sometimes a tenant's home province; 8 % electric."""
    electric = ctx.chance(0.08)
    hometown = _area_of_code(owner.person.id_number or "")
    province = "京" if not home.tenant or ctx.chance(0.6) else hometown.plate
    plate = _plate(ctx, province, electric)
    kind: _VehicleKind = ctx.rng.choices(("car", "suv", "mpv"), (0.6, 0.32, 0.08))[0]
    vehicle = ctx.add(
        Vehicle(
            uid=uids.vehicle(plate),
            source=ctx.source,
            plate=plate,
            plate_colour="green" if electric else "blue",
            plate_type="new_energy_small" if electric else "small",
            brand=ctx.rng.choice(_EV_BRANDS if electric else _CAR_BRANDS),
            body_colour=ctx.rng.choices(_BODY_COLOURS, _BODY_COLOUR_WEIGHTS)[0],
            vehicle_type=kind,
            size_class="medium" if kind == "mpv" else "small",
            owner_phone=owner.person.phone,
        )
    )
    bought = _day_between(
        ctx.rng, max(home.moved_in - timedelta(days=1500), date(2008, 1, 1)), REFERENCE_DATE - timedelta(days=10)
    )
    ctx.links.append(Owns(source=ctx.source, start=owner.person.uid, end=vehicle.uid, since=_at(bought)))


def _area_of_code(code: str) -> _Area:
    """Return the area of a 6-digit area code (the start of an ID number), Chaoyang if unknown."""
    return _AREAS.get(code[:6], _BEIJING[0])


def _plate(ctx: _Context, province: str, electric: bool) -> str:
    """Return an unused plate of `province`: 5 characters, or 6 beginning D/F if `electric`."""
    letters = _BEIJING_PLATE_LETTERS if province == "京" else "ABCDEFGH"
    while True:
        city = ctx.rng.choice(letters)
        if electric:
            tail = (
                f"{ctx.rng.choice('DF')}{ctx.rng.choice(_PLATE_LETTERS + '0123456789')}{ctx.rng.randrange(10**4):04d}"
            )
        else:
            chars = [ctx.rng.choice("0123456789") for _ in range(5)]
            for position in ctx.rng.sample(range(5), ctx.rng.choice((0, 1, 1, 2))):
                chars[position] = ctx.rng.choice(_PLATE_LETTERS)
            tail = "".join(chars)
        plate = f"{province}{city}{tail}"
        if plate not in ctx.plates:
            ctx.plates.add(plate)
            return plate


def _ebike(ctx: _Context, home: _Home, owner: _Resident) -> None:
    """Add an e-bike with a Beijing e-bike plate, bought after the 2019 registration rules."""
    code = f"N{ctx.serial('ebike'):06d}"
    bike = ctx.add(
        NonMotorVehicle(
            uid=uids.non_motor_vehicle(code),
            source=ctx.source,
            plate=f"京{ctx.rng.choice('ABCDEFGH')}{ctx.rng.randrange(10**5):05d}",
            kind="e_bike",
            brand=ctx.rng.choice(_EBIKE_BRANDS),
        )
    )
    bought = _day_between(ctx.rng, max(home.moved_in, date(2019, 4, 15)), REFERENCE_DATE - timedelta(days=5))
    ctx.links.append(Owns(source=ctx.source, start=owner.person.uid, end=bike.uid, since=_at(bought)))


# --- grids, organisations, staff -------------------------------------------------------------


def _grids(ctx: _Context, estates: list[_EstatePlan]) -> None:
    """Split each estate into grids of at most six neighbouring buildings (IN_GRID)."""
    for plan in estates:
        count = math.ceil(len(plan.buildings) / 6)
        for g in range(count):
            code = f"{plan.estate.code}G{g + 1:02d}"
            grid = ctx.add(
                Grid(uid=uids.grid(code), source=ctx.source, code=code, name=f"{plan.estate.name}第{g + 1}网格")
            )
            plan.grids.append(grid)
            for building in plan.buildings[g * len(plan.buildings) // count : (g + 1) * len(plan.buildings) // count]:
                ctx.join(InGrid, building.uid, grid.uid)
                plan.grid_of[building.uid] = grid


def _nearest_grid(plan: _EstatePlan, lon: float, lat: float) -> Grid:
    """Return the grid of the building nearest to (`lon`, `lat`)."""
    building = min(plan.buildings, key=lambda b: ((b.lon or 0) - lon) ** 2 + ((b.lat or 0) - lat) ** 2)
    return plan.grid_of[building.uid]


def _organisations(ctx: _Context, estates: list[_EstatePlan]) -> None:
    """Add per estate a property company and shops, and the community's key units."""
    for plan in estates:
        plan.property_company = _organisation(
            ctx,
            plan,
            f"北京{ctx.fake.company_prefix()}物业管理有限公司",
            "property_management",
            ("客服", "保洁", "维修工", "秩序维护员"),
        )
        for kind, position in ctx.rng.sample(_SHOP_KINDS, ctx.rng.randint(2, 5)):
            name = f"{ctx.rng.choice(_SHOP_WORDS)}{kind}（{plan.estate.name}店）"
            _organisation(ctx, plan, name, "shop", (position,), credit=ctx.chance(0.8), resident_boss=True)
    street = ctx.street[1].removesuffix("街道")
    key_units: list[tuple[str, _OrgCategory, _KeyCategory, tuple[str, ...]]] = [
        (f"北京市{ctx.district[1]}{street}小学", "school", "school", ("教师", "校医")),
        (f"{street}社区卫生服务站", "hospital", "hospital", ("医生", "护士")),
        (f"{street}综合养老服务中心", "social_organisation", "fire_safety", ("护理员",)),
    ]
    if len(estates) >= 3:
        key_units.append((f"{street}幼儿园", "school", "school", ("教师", "保育员")))
    if ctx.chance(0.5) or len(estates) >= 4:
        key_units.append((f"中国石化{street}加油站", "company", "hazardous_chemicals", ("加油员",)))
    for k, (name, category, key, positions) in enumerate(key_units):
        _organisation(ctx, estates[k % len(estates)], name, category, positions, key=key)


def _organisation(
    ctx: _Context,
    plan: _EstatePlan,
    name: str,
    category: _OrgCategory,
    positions: tuple[str, ...],
    *,
    key: _KeyCategory | None = None,
    credit: bool = True,
    resident_boss: bool = False,
) -> Organisation:
    """Add an organisation at the edge of an estate with its legal representative and a few staff."""
    code = f"O{ctx.serial('org'):04d}"
    lon, lat = _offset(plan.origin, ctx.rng.uniform(-150, 150), -ctx.rng.uniform(120, 200))
    org = ctx.add(
        Organisation(
            uid=uids.organisation(code),
            source=ctx.source,
            name=name,
            credit_code=_credit_code(ctx, category) if credit else None,
            category=category,
            key_unit=key is not None,
            key_category=key,
            address=plan.estate.address,
            phone=_landline(ctx),
            lon=lon,
            lat=lat,
        )
    )
    ctx.join(LocatedIn, org.uid, plan.estate.uid)
    ctx.join(InGrid, org.uid, _nearest_grid(plan, lon, lat).uid)
    adults = [r for r in plan.residents if 20 <= r.age <= 60]
    boss = ctx.rng.choice(adults).person if resident_boss and adults and ctx.chance(0.5) else _outsider(ctx)
    ctx.join(LegalRepresentativeOf, boss.uid, org.uid)
    for worker in ctx.rng.sample(adults, min(len(adults), ctx.rng.randint(0, 3))):
        ctx.links.append(
            WorksAt(
                source=ctx.source,
                start=worker.person.uid,
                end=org.uid,
                since=_at(_day_between(ctx.rng, date(2012, 1, 1), REFERENCE_DATE)),
                position=ctx.rng.choice(positions),
            )
        )
    return org


_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_KIND = {"school": "12", "hospital": "12", "social_organisation": "52", "shop": "92"}


def _credit_code(ctx: _Context, category: str) -> str:
    """Return a unified social credit code (GB 32100) with a correct check character."""
    body = _CREDIT_KIND.get(category, "91") + ctx.district[0] + "".join(ctx.rng.choice(_CREDIT_CHARS) for _ in range(9))
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(body, _CREDIT_WEIGHTS, strict=True))
    return body + _CREDIT_CHARS[(31 - total % 31) % 31]


def _grid_staff(ctx: _Context, plan: _EstatePlan) -> None:
    """Add a grid worker, a police officer and a property manager for each grid (9.1.1)."""
    roles: tuple[_StaffRole, ...] = ("grid_worker", "police_officer", "property_manager")
    for grid in plan.grids:
        for role in roles:
            staff = _outsider(ctx, min_age=24, max_age=55)
            ctx.links.append(ResponsibleFor(source=ctx.source, start=staff.uid, end=grid.uid, role=role))
            if role == "property_manager" and plan.property_company:
                ctx.links.append(
                    WorksAt(
                        source=ctx.source,
                        start=staff.uid,
                        end=plan.property_company.uid,
                        since=_at(_day_between(ctx.rng, date(2015, 1, 1), REFERENCE_DATE)),
                        position="网格物业管家",
                    )
                )


def _defence_force(ctx: _Context, plan: _EstatePlan) -> None:
    """Add guards, volunteers (retired residents) and the owners' committee (owners) of an estate."""
    residents = plan.residents
    retired = [r for r in residents if r.age >= 58]
    owners = [r for r in residents if r.role == "head" and not r.tenant]
    force: list[tuple[_Force, Person | None]] = [
        ("security_guard", None) for _ in range(min(12, 2 + len(plan.buildings) // 2))
    ]
    force += [("volunteer", r.person) for r in ctx.rng.sample(retired, min(len(retired), ctx.rng.randint(3, 6)))]
    force += [("owners_committee", r.person) for r in ctx.rng.sample(owners, min(len(owners), ctx.rng.randint(5, 7)))]
    for kind, person in force:
        code = f"{plan.estate.code}M{ctx.serial(plan.estate.code + 'M'):02d}"
        member = ctx.add(_defence_member(ctx, uids.defence_member(code), kind, person))
        ctx.join(ServesIn, member.uid, plan.estate.uid)


def _defence_member(ctx: _Context, uid: str, force: _Force, person: Person | None) -> DefenceMember:
    """Return a defence-force member: `person`'s identity, or a new one (guards come from elsewhere)."""
    if person is not None:
        return DefenceMember(
            uid=uid,
            source=ctx.source,
            name=person.name,
            sex=person.sex,
            id_number=person.id_number,
            phone=person.phone,
            force=force,
        )
    sex: Sex = "male" if ctx.chance(0.85) else "female"
    birth = _birth_date(ctx.rng, ctx.rng.randint(22, 55))
    name = ctx.fake.last_name() + _given_name(ctx, sex)
    return DefenceMember(
        uid=uid,
        source=ctx.source,
        name=name,
        sex=sex,
        force=force,
        phone=_phone(ctx),
        id_number=_id_number(ctx, ctx.rng.choice(_ELSEWHERE), birth, sex),
    )


# --- devices ---------------------------------------------------------------------------------


def _device(
    ctx: _Context,
    code: str,
    name: str,
    category: DeviceCategory,
    place: str,
    lon: float | None,
    lat: float | None,
    first: date,
    *,
    floor: int | None = None,
    owner: Organisation | None = None,
    covers: bool = False,
) -> Device:
    """Add a device INSTALLED_IN `place` (and COVERS it if `covers`), installed on or after `first`."""
    maker = ctx.rng.choice(_MAKERS[category])
    online = ctx.chance(0.97)
    device = ctx.add(
        Device(
            uid=uids.device(code),
            source=ctx.source,
            code=code,
            name=name,
            category=category,
            maker=maker,
            installed_on=_day_between(ctx.rng, first, REFERENCE_DATE - timedelta(days=30)),
            floor=floor,
            owner_unit=owner.name if owner else None,
            maintainer=owner.name if owner and ctx.chance(0.5) else maker,
            online=online,
            lifecycle="in_service" if online or ctx.chance(0.5) else "maintenance",
            lon=lon,
            lat=lat,
        )
    )
    ctx.join(InstalledIn, device.uid, place)
    if covers:
        ctx.join(Covers, device.uid, place)
    return device


def _estate_devices(ctx: _Context, plan: _EstatePlan) -> None:
    """Add gates, the car park, and the estate-wide sensors and facilities, each in a grid."""
    estate, owner = plan.estate, plan.property_company
    since = date(max(plan.year + 1, _IOT_SINCE), 1, 1)
    columns, rows = _layout_grid(len(plan.buildings))
    half_ew, half_ns = _BUILDING_SPACING_M * (columns + 1) / 2, _BUILDING_SPACING_M * (rows + 1) / 2
    placed: list[tuple[Device, float, float]] = []

    def at(
        code: str,
        name: str,
        category: DeviceCategory,
        east: float,
        north: float,
        floor: int | None = None,
        covers: bool = False,
    ) -> None:
        lon, lat = _offset(plan.origin, east, north)
        placed.append(
            (
                _device(
                    ctx,
                    f"{estate.code}-{code}",
                    name,
                    category,
                    estate.uid,
                    lon,
                    lat,
                    since,
                    floor=floor,
                    owner=owner,
                    covers=covers,
                ),
                lon,
                lat,
            )
        )

    sides = ((0.0, -half_ns), (0.0, half_ns), (half_ew, 0.0), (-half_ew, 0.0))
    for g, (east, north) in enumerate(sides[: ctx.rng.randint(2, 4)], 1):
        at(f"GATE{g}-FACE", f"{g}号门人脸抓拍机", "face_camera", east + 3, north, covers=True)
        at(f"GATE{g}-PLATE", f"{g}号门车牌识别", "plate_camera", east - 3, north, covers=True)
        at(f"GATE{g}-DOOR", f"{g}号门门禁", "access_control", east, north, covers=True)
    for k in (1, 2):
        at(f"PARK-PLATE{k}", f"地下车库{k}号口车牌识别", "plate_camera", -20.0 * k, -half_ns / 2, floor=-1, covers=True)
    spread = ctx.rng.uniform
    estate_wide: list[tuple[DeviceCategory, int]] = [
        ("manhole_cover", len(plan.buildings) + 2),
        ("street_light", math.ceil(len(plan.buildings) * 1.5)),
        ("water_tank", 1),
        ("environment", 1),
        ("perimeter_sensor", ctx.rng.randint(4, 8)),
        ("hydrant", max(2, len(plan.buildings) // 2)),
        ("fire_lane_camera", ctx.rng.randint(1, 2)),
    ]
    for category, count in estate_wide:
        for k in range(1, count + 1):
            if category == "perimeter_sensor":
                east = sides[k % 4][0] or spread(-half_ew, half_ew)
                north = sides[k % 4][1] or spread(-half_ns, half_ns)
            else:
                east, north = spread(-half_ew, half_ew), spread(-half_ns, half_ns)
            at(
                f"{_DEVICE_CODES[category]}{k:02d}",
                f"{_DEVICE_NAMES[category]}{k:02d}",
                category,
                east,
                north,
                covers=category == "fire_lane_camera",
            )
    for device, lon, lat in placed:
        ctx.join(InGrid, device.uid, _nearest_grid(plan, lon, lat).uid)


def _building_devices(ctx: _Context, plan: _EstatePlan) -> None:
    """Add unit doors, elevators and smoke detectors per unit, and meters per house."""
    owner = plan.property_company
    buildings = {b.code: b for b in plan.buildings}
    for unit in plan.units:
        building = buildings[unit.building_code]
        built = date(building.year_built or plan.year, 6, 1)
        smart = max(built, date(_IOT_SINCE, 1, 1))
        key = f"{unit.building_code}-U{unit.number}"
        where = f"{building.name}{unit.number}单元"
        for category, suffix in _UNIT_DEVICES:
            _device(
                ctx,
                f"{key}-{suffix}",
                f"{where}{_DEVICE_NAMES[category]}",
                category,
                unit.uid,
                building.lon,
                building.lat,
                smart,
                floor=1,
                owner=owner,
                covers=True,
            )
        if building.floors_above > 6:
            for k in range(1, 3 if building.floors_above >= 19 else 2):
                _device(
                    ctx,
                    f"{key}-LIFT{k}",
                    f"{where}{k}号电梯",
                    "elevator",
                    unit.uid,
                    building.lon,
                    building.lat,
                    built,
                    owner=owner,
                )
        for floor in range(1, building.floors_above + 1):
            _device(
                ctx,
                f"{key}-F{floor:02d}-SMOKE",
                f"{where}{floor}层烟感",
                "smoke_detector",
                unit.uid,
                building.lon,
                building.lat,
                smart,
                floor=floor,
                owner=owner,
            )
    for house in plan.houses:
        built = date((buildings[house.building_code].year_built or plan.year), 6, 1)
        key = f"{house.building_code}-{house.unit_number}-{house.room}"
        where = f"{buildings[house.building_code].name}{house.unit_number}单元{house.room}"
        for category, suffix in _METERS:
            _device(
                ctx,
                f"{key}-{suffix}",
                f"{where}{_DEVICE_NAMES[category]}",
                category,
                house.uid,
                house.lon,
                house.lat,
                max(built, date(2010, 1, 1)),
                floor=house.floor,
            )


# --- checks ----------------------------------------------------------------------------------


def _check_integrity(community: Community) -> None:
    """Raise ValueError if uids repeat or a relationship ends at a node not in the community."""
    seen: set[str] = set()
    for node in community.nodes:
        if node.uid in seen:
            raise ValueError(f"node uid {node.uid!r} appears twice")
        seen.add(node.uid)
    link_uids: set[str] = set()
    for link in community.links:
        if link.start not in seen or link.end not in seen:
            raise ValueError(f"{link.type} {link.uid!r} has an end outside the community")
        if link.uid in link_uids:
            raise ValueError(f"relationship uid {link.uid!r} appears twice")
        link_uids.add(link.uid)
