"""office settings: contact, opening hours, Impressum, logo

Revision ID: 0012
Revises: 0011
The office admin keeps the office's face: phone, opening hours and Impressum for the
pages' footer, and a logo (always a PNG the app made) for the header and the card.

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("office") as batch_op:
        batch_op.add_column(
            sa.Column("phone", sa.String(length=40), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("opening_hours", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("imprint", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("logo_png", sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table("office") as batch_op:
        batch_op.drop_column("logo_png")
        batch_op.drop_column("imprint")
        batch_op.drop_column("opening_hours")
        batch_op.drop_column("phone")
