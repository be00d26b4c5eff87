"""The lab's demo agrees with itself: every department has someone who receives its tickets, the
README's table is the one the lab prints, the IVR and the knowledge base promise one warranty."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select

from ctiserver import vocabulary
from ctiserver.lab.demo import ARTICLES, seed_demo
from ctiserver.lab.demo_dispatch import DEPARTMENT_STAFF, seed_demo_dispatch
from ctiserver.lab.demo_users import demo_users, users_table
from ctiserver.storage.database import Database
from ctiserver.users.tables import User
from tests.support.desk import PASSWORD
from tests.support.web_fakes import FAST_HASHER

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_shows_the_table_the_lab_prints() -> None:
    assert users_table() in README.read_text(encoding="utf-8")
    usernames = [u.username for u in demo_users()]
    assert len(usernames) == len(set(usernames)) and all(u.purpose for u in demo_users())


def test_every_department_has_staff() -> None:
    staffed = {"repair"} | {department for _, _, department in DEPARTMENT_STAFF}
    assert staffed == set(vocabulary.DEPARTMENT_BY_TYPE.values())


async def test_the_table_names_every_user_the_lab_makes(db: Database) -> None:
    await seed_demo(db, password=PASSWORD, hasher=FAST_HASHER)
    await seed_demo_dispatch(db, PASSWORD, FAST_HASHER)
    async with db.session() as session:
        made = {(u.username, u.role, u.department) for u in (await session.scalars(select(User))).all()}
    assert {(u.username, u.role) for u in demo_users()} == {(name, role) for name, role, _ in made}
    # each kind of ticket goes to a department with someone in it
    assert set(vocabulary.DEPARTMENT_BY_TYPE.values()) <= {department for _, _, department in made}


def test_the_ivr_and_the_knowledge_base_promise_the_same_warranty() -> None:
    flow = yaml.safe_load((README.parent / "ivr_flows" / "hotline.yaml").read_text(encoding="utf-8"))
    prompt = flow["nodes"]["info"]["prompt"]
    article = next(body for title, _lang, _tags, body in ARTICLES if title == "保修政策说明")
    english = next(body for title, _lang, _tags, body in ARTICLES if title == "Warranty terms")
    # the whole product one year, an air conditioner's outdoor unit six, in both languages and both places
    assert "整机保修一年" in prompt["zh"] and "空调主机保修六年" in prompt["zh"]
    assert "整机保修 1 年" in article and "空调主机保修 6 年" in article and "3 年" not in article
    assert "one-year warranty" in prompt["en"] and "outdoor unit six years" in prompt["en"]
    assert "for 1 year" in english and "outdoor unit for 6 years" in english and "3 years" not in english
