"""programme: an index for an office's staff among all accounts

Revision ID: 0017
Revises: 0016
The staff page, the audit log's actor filter and the programme's audit log ask for the
clerks and admins of offices; with 100,000s of volunteer accounts that read every row.

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_user_account_office_role", "user_account", ["office_id", "role"], unique=False
    )


def downgrade():
    op.drop_index("ix_user_account_office_role", table_name="user_account")
