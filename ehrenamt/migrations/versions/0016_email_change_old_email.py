"""e-mail changes keep the address they replaced

Revision ID: 0016
Revises: 0015
Mails sent to a volunteer before an e-mail change went to the old address; the export
finds them, and an erasure deletes them, by that address. A used change keeps it as long
as such mails are kept (SENT_MAIL_RETENTION_DAYS), then the retention job deletes the row.

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("email_change") as batch_op:
        batch_op.add_column(sa.Column("old_email", sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table("email_change") as batch_op:
        batch_op.drop_column("old_email")
