"""partner e-mail confirmation

Revision ID: 0013
Revises: 0012
A registering partner confirms its address by a one-time link before the directory
lists it. Partners already there were listed without it and stay listed: their
confirmation is set to when they were decided (or created).

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OLD_PURPOSES = ("sign_in", "confirm_email", "invitation", "reset_password")
NEW_PURPOSES = (*OLD_PURPOSES, "partner_email")


def _enum(values):
    return sa.Enum(
        *values, name="linkpurpose", native_enum=False, create_constraint=True, length=20
    )


def upgrade():
    with op.batch_alter_table("partner") as batch_op:
        batch_op.add_column(
            sa.Column("email_confirmed_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE partner SET email_confirmed_at = COALESCE(decided_at, created_at)")
    with op.batch_alter_table("one_time_link") as batch_op:
        batch_op.alter_column(
            "purpose",
            existing_type=_enum(OLD_PURPOSES),
            type_=_enum(NEW_PURPOSES),
            existing_nullable=False,
        )


def downgrade():
    op.execute("DELETE FROM one_time_link WHERE purpose = 'partner_email'")
    with op.batch_alter_table("one_time_link") as batch_op:
        batch_op.alter_column(
            "purpose",
            existing_type=_enum(NEW_PURPOSES),
            type_=_enum(OLD_PURPOSES),
            existing_nullable=False,
        )
    with op.batch_alter_table("partner") as batch_op:
        batch_op.drop_column("email_confirmed_at")
