"""outbox messages record when their mail began to go out

Revision ID: 0018
Revises: 0017
A worker cut off from the network right after the mail server took a mail could not
record it as sent; its lease ran out and another worker sent the mail again. The time the
sending began keeps other workers away from such a message for OUTBOX_IN_DOUBT_SECONDS.
The column lives as long as its row (sent messages: SENT_MAIL_RETENTION_DAYS).

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.add_column(
            sa.Column("sending_started_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.drop_column("sending_started_at")
