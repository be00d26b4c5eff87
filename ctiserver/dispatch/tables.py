"""Tables of dispatch: departments, branches (a province or one of its cities) and the rules
that send a new ticket to a department and a branch by its kind and the customer's region."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ctiserver.storage.base import Base
from ctiserver.users import User


class Department(Base):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))


class Branch(Base):
    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    province: Mapped[str] = mapped_column(String(64), index=True)
    #: null: the whole province
    city: Mapped[str | None] = mapped_column(String(64))
    #: who is told first when one of its tickets nears its SLA target
    manager_user_id: Mapped[int | None] = mapped_column(ForeignKey(User.id, ondelete="SET NULL"))


class DispatchRule(Base):
    """A null kind, province or city matches any; the most specific matching rule wins."""

    __tablename__ = "dispatch_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    province: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(ForeignKey(Department.code, ondelete="CASCADE"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey(Branch.id, ondelete="CASCADE"))
