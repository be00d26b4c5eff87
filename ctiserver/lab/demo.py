"""Demo data for the lab: customers who call, agents who answer, users who log in,
and the knowledge base articles agents read to them.

Idempotent: every row has a natural key (customer name, phone, product serial,
username, extension, article title) and is only added when missing, so seeding twice adds nothing
and never resets a password someone changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ctiserver.agents.tables import AgentRow
from ctiserver.customers.phones import normalize_phone
from ctiserver.customers.tables import Customer, CustomerPhone, Product, ProductModel
from ctiserver.knowledge.store import join_tags
from ctiserver.knowledge.tables import KnowledgeArticle
from ctiserver.storage.database import Database
from ctiserver.users.store import UserRepository
from ctiserver.users.tables import User

#: vocabulary.PRODUCT_CATEGORIES (the pages name them)
AC, WASHER, HEATER, FRIDGE = "air_conditioner", "washing_machine", "water_heater", "refrigerator"


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    level: str
    #: province, city, district, street, detail
    address: tuple[str, str, str, str, str]
    #: (number as written, label)
    phones: tuple[tuple[str, str], ...]
    #: (category, model, serial, installed on)
    products: tuple[tuple[str, str, str, dt.date], ...] = ()


CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        "张伟", "vip", ("北京市", "北京市", "朝阳区", "建国路", "88号 SOHO现代城 A座 1201室"),
        (("+86 138-0013-8000", "mobile"), ("010-6552 8899", "home")),
        ((AC, "KFR-35GW/BP3DN8Y", "AC2021BJ000101", dt.date(2021, 6, 12)),
         (FRIDGE, "BCD-470WDPG", "RF2022BJ000233", dt.date(2022, 3, 2))),
    ),
    DemoCustomer(
        "李娜", "normal", ("上海市", "上海市", "浦东新区", "张江路", "368弄 5号 302室"),
        (("13912345678", "mobile"), ("021 5080 1234", "office")),
        ((WASHER, "XQG100-BD14376LU1", "WM2023SH004512", dt.date(2023, 1, 20)),),
    ),
    DemoCustomer(
        "王芳", "vip", ("广东省", "广州市", "天河区", "天河路", "385号 太古汇二期 18楼"),
        (("0086 135 0000 1111", "mobile"),),
        ((HEATER, "JSQ30-16WH5", "WH2020GZ007788", dt.date(2020, 11, 5)),
         (AC, "KFR-72LW/BP3DN8Y", "AC2020GZ003344", dt.date(2020, 7, 18))),
    ),
    DemoCustomer(
        "刘洋", "normal", ("四川省", "成都市", "武侯区", "人民南路四段", "12号 2栋 3单元 601"),
        (("(028) 8555-1234", "home"), ("8615928001234", "mobile")),
        ((FRIDGE, "BCD-256WDVMU1", "RF2019CD001122", dt.date(2019, 8, 30)),),
    ),
    DemoCustomer(
        "陈静", "normal", ("浙江省", "杭州市", "西湖区", "文三路", "90号 东部软件园 7幢 502"),
        (("0137 5713 2468", "mobile"),),
        ((WASHER, "EG10014B39GU1", "WM2022HZ009901", dt.date(2022, 5, 16)),),
    ),
    DemoCustomer(
        "杨磊", "normal", ("江苏省", "南京市", "鼓楼区", "中山北路", "200号 华侨大厦 15F"),
        (("186 2501 7788", "mobile"),),
        ((HEATER, "EC6002-MC3", "WH2024NJ000017", dt.date(2024, 2, 8)),),
    ),
    DemoCustomer(
        "赵敏", "vip", ("湖北省", "武汉市", "洪山区", "珞喻路", "1037号 西区 12栋 201"),
        (("+8618971234567", "mobile"), ("027-8754 0000", "office")),
        ((AC, "KFR-26GW/N8MJA3", "AC2023WH005566", dt.date(2023, 6, 1)),
         (WASHER, "MG100V11D", "WM2023WH005567", dt.date(2023, 6, 1)),
         (FRIDGE, "BCD-516WKPZM", "RF2023WH005568", dt.date(2023, 6, 1))),
    ),
    DemoCustomer(
        "黄强", "normal", ("山东省", "青岛市", "市南区", "香港中路", "76号 2号楼 1803"),
        (("0532-8588 6677", "home"), ("158 0642 1234", "mobile")),
        ((AC, "KFR-50LW/07FZBp2", "AC2018QD002211", dt.date(2018, 5, 22)),),
    ),
    DemoCustomer(
        "Li Ming", "normal", ("北京市", "北京市", "海淀区", "中关村大街", "27号 中关村大厦 9层"),
        (("+86 (10) 8265 1234", "office"), ("136-0101-2345", "mobile")),
        ((HEATER, "ES60H-GM3(1)", "WH2021BJ003030", dt.date(2021, 12, 3)),),
    ),
    DemoCustomer(
        "Emily Wang", "vip", ("上海市", "上海市", "静安区", "南京西路", "1266号 恒隆广场 45楼"),
        (("+86 139 1700 2233", "mobile"),),
        ((FRIDGE, "BCD-650WKPZM", "RF2024SH000808", dt.date(2024, 4, 18)),
         (AC, "KFR-35GW/BP2DN1Y", "AC2024SH000809", dt.date(2024, 4, 18))),
    ),
    DemoCustomer(
        "David Zhang", "normal", ("广东省", "深圳市", "南山区", "科技园南路", "15号 软件产业基地 4栋B座"),
        (("0755-2667 8899", "office"), ("13728761234", "mobile")),
        ((WASHER, "TG100V88WMUIADY5", "WM2021SZ004455", dt.date(2021, 9, 9)),),
    ),
    DemoCustomer(
        "周杰", "normal", ("福建省", "厦门市", "思明区", "鹭江道", "8号 国际银行大厦 22层"),
        (("177 5012 3456", "mobile"),),
        ((HEATER, "F60-15A2(HE)", "WH2022XM006677", dt.date(2022, 10, 27)),),
    ),
)

#: extension, agent name, skills
AGENTS: tuple[tuple[str, str, str], ...] = (
    ("1001", "王小明", "support,repair"),
    ("1002", "李红", "support,installation"),
    ("1003", "张丽", "repair,complaint"),
    ("1004", "陈刚", "support,complaint,installation"),
)

#: username, role, display name (besides one agent user per extension)
STAFF: tuple[tuple[str, str, str], ...] = (
    ("supervisor", "supervisor", "值班主管"),
    ("admin", "admin", "系统管理员"),
)


#: title, language, tags, body
ARTICLES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (
        "空调不制冷怎么办", "zh", ("空调", "制冷", "维修"),
        ("1. 确认遥控器处于制冷模式，设定温度低于室温。\n"
         "2. 检查并清洗过滤网（建议每两周一次）。\n"
         "3. 确认室外机通风良好、风扇转动，周围 50 厘米内无遮挡。\n"
         "4. 如室外机不启动或出风口结霜，可能缺氟或压缩机故障，请登记上门维修工单。"),
    ),
    (
        "Air conditioner not cooling", "en", ("air conditioner", "cooling", "repair"),
        ("1. Check the remote is in COOL mode and the set temperature is below room temperature.\n"
         "2. Clean the air filters (every two weeks in summer).\n"
         "3. Make sure the outdoor unit is not blocked and its fan turns.\n"
         "4. If the outdoor unit does not start or the pipes frost over, the refrigerant may be "
         "low or the compressor faulty: open a repair ticket."),
    ),
    (
        "洗衣机显示 E3 故障代码", "zh", ("洗衣机", "E3", "故障代码"),
        ("E3 表示排水超时或门锁异常（滚筒机型）。\n"
         "1. 检查排水管是否弯折、堵塞，排水口高度不超过 1 米。\n"
         "2. 清理底部排水泵过滤器（先断电并准备接水容器）。\n"
         "3. 关紧机门后断电 10 分钟再试。\n"
         "仍报 E3 请登记维修工单，注明机型与序列号。"),
    ),
    (
        "Washing machine error E3", "en", ("washing machine", "E3", "error code"),
        ("E3 means the drain took too long or the door lock failed (front loaders).\n"
         "1. Check the drain hose is not kinked or blocked and not higher than 1 m.\n"
         "2. Clean the drain pump filter at the bottom (unplug first, have a bowl ready).\n"
         "3. Close the door firmly, unplug for 10 minutes, try again.\n"
         "If E3 persists, open a repair ticket with the model and serial number."),
    ),
    (
        "热水器安装须知", "zh", ("热水器", "安装", "预约"),
        ("电热水器须安装在承重墙上，并使用带接地的独立 16A 插座；燃气热水器必须由持证师傅"
         "安装并接好排烟管。安装为免费服务（辅材另计），请登记安装工单并与客户确认上门时间。"),
    ),
    (
        "Water heater installation", "en", ("water heater", "installation", "appointment"),
        ("Electric water heaters go on a load-bearing wall with a dedicated, earthed 16 A socket; "
         "gas heaters must be fitted by a certified technician with a flue. Installation is free "
         "(materials charged): open an installation ticket and agree a visit time."),
    ),
    (
        "保修政策说明", "zh", ("保修", "三包", "政策"),
        ("所有产品整机保修 1 年，空调主机保修 6 年（以购买发票日期为准）。"
         "保修期内非人为损坏免费维修；人为损坏、私自拆修或无发票且超出出厂日期 1 年的，按收费维修处理。"),
    ),
    (
        "Warranty terms", "en", ("warranty", "policy"),
        ("Every product is under warranty for 1 year, an air conditioner's outdoor unit for 6 years, "
         "from the invoice date. Repairs under warranty are free unless the damage was caused by the "
         "user or the unit was opened by someone else."),
    ),
    (
        "搬家移机服务", "zh", ("移机", "搬家", "空调"),
        ("空调移机需先回收冷媒再拆机，新址安装需检查管路长度，超出 3 米的铜管按价目表收费。"
         "请提前 3 天登记移机工单，注明新旧地址。"),
    ),
    (
        "Moving appliances", "en", ("moving", "air conditioner", "relocation"),
        ("Moving an air conditioner: the refrigerant is pumped down before removal; at the new "
         "address pipes over 3 m are charged per the price list. Open a moving ticket at least "
         "3 days ahead, with both addresses."),
    ),
    (
        "冰箱不制冷或结霜过多", "zh", ("冰箱", "制冷", "结霜"),
        ("1. 检查温控档位和门封是否密合。\n2. 冰箱背部与墙保持 10 厘米以上散热距离。\n"
         "3. 风冷机型结霜过多可能是化霜故障，请登记维修工单。"),
    ),
    (
        "Refrigerator not cold enough", "en", ("refrigerator", "cooling"),
        ("1. Check the thermostat setting and that the door seals close.\n"
         "2. Keep at least 10 cm between the back of the fridge and the wall.\n"
         "3. Heavy frost in a no-frost model points to a defrost fault: open a repair ticket."),
    ),
)


@dataclass(frozen=True)
class DemoSeed:
    """What the database holds after seeding (totals, not just demo rows)."""

    customers: int
    phones: int
    products: int
    agents: int
    users: int
    articles: int
    #: the demo users that exist, agents first
    usernames: tuple[str, ...]
    #: rows this run added; 0 when the demo data was already there
    added: int


async def seed_demo(db: Database, password: str, hasher: PasswordHasher | None = None) -> DemoSeed:
    """Add whatever demo rows are missing; every demo user gets ``password``."""
    users = UserRepository(db, hasher)
    added = 0
    user_ids: dict[str, int] = {}
    wanted = [(f"agent{ext}", "agent", name) for ext, name, _skills in AGENTS] + list(STAFF)
    for username, role, display_name in wanted:
        async with db.session() as session:
            user_id = await session.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            user_id = (await users.add(username, password, role, display_name)).id
            added += 1
        user_ids[username] = user_id

    async with db.session() as session:
        for ext, name, skills in AGENTS:
            if await session.scalar(select(AgentRow.id).where(AgentRow.extension == ext)) is None:
                session.add(
                    AgentRow(extension=ext, name=name, user_id=user_ids[f"agent{ext}"], skills=skills)
                )
                added += 1
        for demo in CUSTOMERS:
            added += await _seed_customer(session, demo)
        added += await _seed_articles(session)
        await _seed_catalogue(session)
        await session.commit()
        counts = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (Customer, CustomerPhone, Product, AgentRow, User, KnowledgeArticle)
        ]
    customers, phones, products, agents, user_count, articles = (c or 0 for c in counts)
    return DemoSeed(
        customers, phones, products, agents, user_count, articles, usernames=tuple(user_ids), added=added
    )


async def _seed_customer(session: AsyncSession, demo: DemoCustomer) -> int:
    added = 0
    customer = await session.scalar(select(Customer).where(Customer.name == demo.name))
    if customer is None:
        province, city, district, street, detail = demo.address
        customer = Customer(
            name=demo.name, level=demo.level, province=province, city=city,
            district=district, street=street, address_detail=detail,
        )
        session.add(customer)
        await session.flush()
        added += 1
    for number, label in demo.phones:
        normalized = normalize_phone(number)
        known = await session.scalar(
            select(CustomerPhone.id).where(
                CustomerPhone.customer_id == customer.id, CustomerPhone.normalized == normalized
            )
        )
        if known is None:
            session.add(
                CustomerPhone(
                    customer_id=customer.id, number=number, normalized=normalized, label=label
                )
            )
            added += 1
    for category, model, serial, installed_on in demo.products:
        if await session.scalar(select(Product.id).where(Product.serial == serial)) is None:
            session.add(
                Product(
                    customer_id=customer.id, category=category, model=model,
                    serial=serial, installed_on=installed_on,
                )
            )
            added += 1
    return added


async def _seed_catalogue(session: AsyncSession) -> None:
    """The demo products' models as the product catalogue (a customer import then accepts
    only those models)."""
    known = set((await session.scalars(select(ProductModel.model))).all())
    for demo in CUSTOMERS:
        for category, model, _serial, _installed in demo.products:
            if model not in known:
                session.add(ProductModel(model=model, category=category))
                known.add(model)


async def _seed_articles(session: AsyncSession) -> int:
    added = 0
    for title, language, tags, body in ARTICLES:
        known = await session.scalar(
            select(KnowledgeArticle.id).where(KnowledgeArticle.title == title)
        )
        if known is None:
            session.add(
                KnowledgeArticle(title=title, body=body, language=language, tags=join_tags(tags))
            )
            added += 1
    return added
