"""second factor lock

Revision ID: 0005
Revises: 0004
Wrong second-factor codes are counted per account, and the step locked after too many,
so that guesses from many addresses add up (OWASP ASVS 2.2.1).

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(
            sa.Column("second_factor_failures", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("second_factor_locked_until", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("second_factor_locked_until")
        batch_op.drop_column("second_factor_failures")
