"""retention

Revision ID: 0006
Revises: 0005
Data protection (issue #11): the office's retention periods, kept with its programme
rules.

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_PERIODS = (
    ("retention_decided_months", "6"),
    ("retention_card_months", "12"),
    ("retention_unconfirmed_days", "30"),
    ("retention_check_days", "90"),
)


def upgrade():
    with op.batch_alter_table("programme_rules") as batch_op:
        for name, default in _PERIODS:
            batch_op.add_column(
                sa.Column(name, sa.Integer(), server_default=default, nullable=False)
            )


def downgrade():
    with op.batch_alter_table("programme_rules") as batch_op:
        for name, _default in reversed(_PERIODS):
            batch_op.drop_column(name)
