"""staff accounts

Revision ID: 0008
Revises: 0007
Staff pages: the last sign-in of each account, recovery codes for the second factor, the
programme administrator's role, and one-time links for invitations and password resets.

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_ROLES = ("volunteer", "partner", "clerk", "admin")
NEW_ROLES = (*OLD_ROLES, "programme_admin")
OLD_PURPOSES = ("sign_in", "confirm_email")
NEW_PURPOSES = (*OLD_PURPOSES, "invitation", "reset_password")


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade():
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column(
            "role",
            existing_type=_enum(OLD_ROLES, "userrole"),
            type_=_enum(NEW_ROLES, "userrole"),
            existing_nullable=False,
        )
    with op.batch_alter_table("one_time_link") as batch_op:
        batch_op.alter_column(
            "purpose",
            existing_type=_enum(OLD_PURPOSES, "linkpurpose"),
            type_=_enum(NEW_PURPOSES, "linkpurpose"),
            existing_nullable=False,
        )
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_recovery_code_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_recovery_code_code_hash")),
    )
    with op.batch_alter_table("recovery_code") as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_code_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("recovery_code") as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_code_user_id"))
    op.drop_table("recovery_code")
    with op.batch_alter_table("one_time_link") as batch_op:
        batch_op.alter_column(
            "purpose",
            existing_type=_enum(NEW_PURPOSES, "linkpurpose"),
            type_=_enum(OLD_PURPOSES, "linkpurpose"),
            existing_nullable=False,
        )
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.alter_column(
            "role",
            existing_type=_enum(NEW_ROLES, "userrole"),
            type_=_enum(OLD_ROLES, "userrole"),
            existing_nullable=False,
        )
        batch_op.drop_column("last_sign_in_at")
